"""A Kinguin webhook as the gateway reads and logs it."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

# A later copy of a logged notification: logged, never applied.
DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Notification:
    """What a webhook said, as far as it could be read."""

    event_name: str | None
    kinguin_order_id: str | None = None
    order_external_id: str | None = None
    status: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class WebhookCall:
    """A call to log, with what became of it when that is known already (`note`,
    `order_id`, `applied`; else `Webhooks.settle` says it later)."""

    notification: Notification
    raw_body: bytes
    headers: Mapping[str, str]
    authenticated: bool
    note: str | None = None
    order_id: UUID | None = None
    applied: bool = False


@dataclass(frozen=True)
class LoggedWebhook:
    """A logged call as stored: its headers with secrets already redacted."""

    id: int
    received_at: datetime
    event_name: str | None
    kinguin_order_id: str | None
    order_external_id: str | None
    order_id: UUID | None
    status: str | None
    updated_at: datetime | None
    raw_body: bytes
    headers: dict[str, str]
    authenticated: bool
    duplicate: bool
    applied: bool
    note: str | None

    def notification(self) -> Notification:
        """What the call said, as the edge read it."""
        return Notification(
            self.event_name,
            self.kinguin_order_id,
            self.order_external_id,
            self.status,
            self.updated_at,
        )
