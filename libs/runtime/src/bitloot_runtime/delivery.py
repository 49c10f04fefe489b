"""One received message, as the consumer, the retry path and the dead-letter store see it."""

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from hashlib import sha256

ATTEMPT_HEADER = "x-bitloot-attempt"
FIRST_FAILURE_HEADER = "x-bitloot-first-failure"
TOPIC_HEADER = "x-bitloot-topic"
# Bookkeeping RabbitMQ adds while dead-lettering through delay queues; it grows on every
# retry and holds timestamps that are not JSON, so it is dropped before storing or resending.
_BROKER_HEADERS = ("x-death", "x-delivery-count", "x-first-death-", "x-last-death-")


@dataclass(frozen=True)
class Delivery:
    """A message taken from a queue: its bytes, identity and retry bookkeeping."""

    queue: str
    topic: str
    body: bytes
    message_id: str
    order_id: str | None
    headers: Mapping[str, str]
    attempt: int
    first_failed_at: datetime | None

    @classmethod
    def from_amqp(
        cls,
        *,
        queue: str,
        routing_key: str | None,
        body: bytes,
        message_id: str | None,
        correlation_id: str | None,
        headers: Mapping[str, object],
    ) -> "Delivery":
        """Build from AMQP properties, tolerating anything a hostile sender could set."""
        clean = _json_safe_headers(headers)
        return cls(
            queue=queue,
            # A retried or replayed message arrives with the queue name as routing key;
            # its original topic travels in a header.
            topic=clean.get(TOPIC_HEADER) or routing_key or "",
            body=body,
            # Without a message id there is nothing to deduplicate on but the content.
            message_id=message_id or "sha256:" + sha256(body).hexdigest(),
            order_id=correlation_id,
            headers=clean,
            attempt=_positive_int(clean.get(ATTEMPT_HEADER), default=1),
            first_failed_at=_timestamp(clean.get(FIRST_FAILURE_HEADER)),
        )

    def next_attempt_headers(self, failed_at: datetime) -> dict[str, str]:
        """Headers for the retry of this message after a failure at `failed_at`."""
        first = self.first_failed_at or failed_at
        return {
            **self.headers,
            ATTEMPT_HEADER: str(self.attempt + 1),
            FIRST_FAILURE_HEADER: first.isoformat(),
            TOPIC_HEADER: self.topic,
        }

    def as_replayed(self) -> "Delivery":
        """The same message, sent again from attempt one."""
        headers = {k: v for k, v in self.headers.items() if k != FIRST_FAILURE_HEADER}
        headers[ATTEMPT_HEADER] = "1"
        headers[TOPIC_HEADER] = self.topic
        return replace(self, headers=headers, attempt=1, first_failed_at=None)


def _json_safe_headers(headers: Mapping[str, object]) -> dict[str, str]:
    clean: dict[str, str] = {}
    for key, value in headers.items():
        if key.startswith(_BROKER_HEADERS):
            continue
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        clean[str(key)] = value if isinstance(value, str) else json.dumps(value, default=str)
    return clean


def _positive_int(value: str | None, *, default: int) -> int:
    try:
        number = int(value) if value is not None else default
    except ValueError:
        return default
    return number if number >= 1 else default


def _timestamp(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
