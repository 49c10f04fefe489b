"""The admin service's tables. Its own tables join the runtime's (outbox, inbox,
dead_letters) in one metadata, which Alembic compares against the migrations."""

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
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
    # viewer, operator or owner (domain.roles); the admins before roles became owners.
    Column("role", Text, nullable=False),
    # A disabled admin cannot log in, and its sessions are refused.
    Column("disabled_at", DateTime(timezone=True), nullable=True),
    # Moved on by a password change or a disabling: every session issued before is refused.
    Column("session_generation", Integer, nullable=False, server_default="0"),
    # The TOTP secret (base32) once confirmed with a first code; the one being enrolled;
    # the last time step accepted, so that a code is accepted once.
    Column("totp_secret", Text, nullable=True),
    Column("totp_pending_secret", Text, nullable=True),
    Column("totp_last_step", BigInteger, nullable=True),
    CheckConstraint("role IN ('viewer', 'operator', 'owner')", name="admins_role"),
)

# Sessions logged out before their expiry, by token id (``jti``): every admin instance
# refuses them. A row is useless once its token expired, and is swept then.
admin_revoked_sessions = Table(
    "admin_revoked_sessions",
    metadata,
    Column("session_id", Uuid, primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("admin_revoked_sessions_expires_at", "expires_at"),
)

# An admin's single-use recovery codes (SHA-256 of each; a used one is deleted).
admin_recovery_codes = Table(
    "admin_recovery_codes",
    metadata,
    Column("username", Text, ForeignKey("admins.username", ondelete="CASCADE"), primary_key=True),
    Column("code_hash", Text, primary_key=True),
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
