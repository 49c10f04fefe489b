"""The four tables the runtime keeps in every service's database.

- `outbox`: events written in the same transaction as the state change that caused them;
  the relay publishes them and stamps `published_at`.
- `inbox`: one row per (consumer, message id) processed, written in the handler's
  transaction, so a redelivered message finds its row and has no second effect.
- `dead_letters`: messages that could not be processed (invalid, permanent error, retries
  exhausted), with everything needed to understand and replay them.
- `idempotency_keys`: one row per ``Idempotency-Key`` an action endpoint was called with:
  the action, a fingerprint of the request and, once it ended, the answer every repeat
  gets (`bitloot_runtime.idempotency`).
"""

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("event_id", Uuid, nullable=False, unique=True),
    Column("topic", Text, nullable=False),
    Column("order_id", Uuid, nullable=True),
    Column("body", LargeBinary, nullable=False),
    Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("published_at", DateTime(timezone=True), nullable=True),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("last_error", Text, nullable=True),
    # The relay only ever reads unpublished rows, in id order; keep that read small however
    # large the table grows between clean-ups (migration r0002 says why not by due time).
    Index("ix_outbox_unpublished", "id", postgresql_where=text("published_at IS NULL")),
)

inbox = Table(
    "inbox",
    metadata,
    Column("consumer", Text, nullable=False),
    Column("message_id", Text, nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("consumer", "message_id", name="pk_inbox"),
    Index("ix_inbox_processed_at", "processed_at"),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("queue", Text, nullable=False),
    Column("message_id", Text, nullable=False),
    Column("topic", Text, nullable=False),
    Column("order_id", Text, nullable=True),
    Column("body", LargeBinary, nullable=False),
    Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("reason", Text, nullable=False),
    Column("error", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("first_failed_at", DateTime(timezone=True), nullable=False),
    Column("last_failed_at", DateTime(timezone=True), nullable=False),
    Column("parked_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("replayed_at", DateTime(timezone=True), nullable=True),
    Column("replay_count", Integer, nullable=False, server_default=text("0")),
    UniqueConstraint("queue", "message_id", name="uq_dead_letters_queue_message"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("key", Text, primary_key=True),
    Column("action", Text, nullable=False),
    Column("fingerprint", Text, nullable=False),
    Column("status", Integer, nullable=True),
    Column("body", LargeBinary, nullable=True),
    Column("content_type", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("answered_at", DateTime(timezone=True), nullable=True),
    Column("headers", Text, nullable=True),
    Column("doubted_at", DateTime(timezone=True), nullable=True),
    Index("ix_idempotency_keys_created_at", "created_at"),
    Index("ix_idempotency_keys_answered_at", "answered_at"),
)


def include_runtime_tables(target: MetaData) -> None:
    """Copy the runtime tables into a service's metadata (for Alembic's autogenerate)."""
    for table in metadata.tables.values():
        if table.name not in target.tables:
            table.to_metadata(target)
