"""Alembic revisions of the payments service's own tables (the runtime's come first)."""

from pathlib import Path

VERSIONS = Path(__file__).parent / "versions"
