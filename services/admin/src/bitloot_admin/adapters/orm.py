"""The admin service's tables. Its own tables join the runtime's (outbox, inbox,
dead_letters) in one metadata, which Alembic compares against the migrations."""

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

from bitloot_runtime.tables import include_runtime_tables

metadata = MetaData()
include_runtime_tables(metadata)

admins = Table(
    "admins",
    metadata,
    Column("username", Text, primary_key=True),
    Column("password_hash", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("failed_logins", Integer, nullable=False, server_default="0"),
    Column("locked_until", DateTime(timezone=True), nullable=True),
)

admin_audit = Table(
    "admin_audit",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("username", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("detail", JSONB, nullable=False, server_default="{}"),
    Column("target", Text, nullable=True),
    Column("outcome", Text, nullable=False, server_default="ok"),
    Index("admin_audit_at", "at"),
)

# Login attempts per client (``ip:<address>``) and per username (``user:<name>``) in the
# current window: in the database, so that every admin instance counts the same attempts.
login_throttle = Table(
    "login_throttle",
    metadata,
    Column("key", Text, primary_key=True),
    Column("window_started_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False),
)

# The admin's projection of a refund's story on the bus (refund status changes, claim links
# asked for, keys revoked), which no service keeps whole. The event id is the key, so a
# duplicated event is recorded once.
order_activity = Table(
    "order_activity",
    metadata,
    Column("event_id", Uuid, primary_key=True),
    Column("order_id", Uuid, nullable=False),
    Column("topic", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("order_activity_order_id_at", "order_id", "at"),
    Index("order_activity_at", "at"),
)
