"""The fulfillment service's tables. Its own tables join the runtime's (outbox, inbox,
dead_letters) in one metadata, which Alembic compares against the migrations."""

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    MetaData,
    Table,
    Text,
    Uuid,
    func,
)

from bitloot_runtime.tables import include_runtime_tables

metadata = MetaData()
include_runtime_tables(metadata)

sagas = Table(
    "sagas",
    metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("customer_email", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("kinguin_order_id", Text, nullable=True),
    Column("kinguin_status", Text, nullable=True),
    Column("kinguin_updated_at", DateTime(timezone=True), nullable=True),
    Column("failure_stage", Text, nullable=True),
    Column("failure_reason", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_sagas_state_updated", "state", "updated_at"),
)

saga_transitions = Table(
    "saga_transitions",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("order_id", Uuid, nullable=False),
    Column("from_state", Text, nullable=True),
    Column("to_state", Text, nullable=False),
    Column("reason", Text, nullable=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("ix_saga_transitions_order", "order_id", "id"),
)
