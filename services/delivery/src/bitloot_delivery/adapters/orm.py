"""The delivery service's tables. Its own tables join the runtime's (outbox, inbox,
dead_letters) in one metadata, which Alembic compares against the migrations."""

from sqlalchemy import MetaData

from bitloot_runtime.tables import include_runtime_tables

metadata = MetaData()
include_runtime_tables(metadata)
