"""The audit of admin actions: who did what to which target, when, and how it ended."""

from dataclasses import dataclass
from datetime import datetime

from pydantic import JsonValue


@dataclass(frozen=True)
class AuditEntry:
    """One action: `outcome` is ``ok`` or a short reason it was refused or failed."""

    username: str
    action: str
    target: str | None = None
    outcome: str = "ok"
    detail: dict[str, JsonValue] | None = None


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: datetime
    username: str
    action: str
    target: str | None
    outcome: str
    detail: dict[str, JsonValue]
