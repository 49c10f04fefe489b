"""Delivery's unit of work in memory, for the handler tests of business rules: each
repository subclasses the same port as its PostgreSQL twin (`handlers.ports`), and
keeps its rows in plain structures. Locks are only counted (one task, nothing races).

The email sender's attempts are not faked: what they guarantee (claims skipping locked
rows, stages committed before DATA) is a property of PostgreSQL, tested there."""

import copy
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import TracebackType
from typing import NoReturn
from uuid import UUID

from bitloot_delivery.domain.emails import KEY_KINDS, EmailKind, EmailStatus
from bitloot_delivery.domain.keys import DeliveredKey
from bitloot_delivery.domain.notices import DelayNotice
from bitloot_delivery.domain.rate_limits import Limit, RateLimited
from bitloot_delivery.domain.refund_notices import RefundNotice
from bitloot_delivery.domain.summaries import OrderSummary
from bitloot_delivery.handlers.ports import (
    Deliveries,
    EmailLog,
    KeyEvent,
    NewDelivery,
    Notices,
    RateLimits,
    StoredDelivery,
    Summaries,
)
from bitloot_testing.fakes import FakeWork


@dataclass
class FakeEmail:
    id: int
    order_id: UUID
    kind: EmailKind
    to_address: str
    notice: DelayNotice | None = None
    refund: RefundNotice | None = None
    resend_of: int | None = None
    requested_by: str | None = None
    status: EmailStatus = EmailStatus.PENDING
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


# The kinds kept to one per order (delivery, delayed) or per refund, unless resent.
_ONE_PER_ORDER = (EmailKind.DELIVERY, EmailKind.DELAYED)
_ONE_PER_REFUND = (EmailKind.REFUND_DUE, EmailKind.REFUND_SENT)
_NEVER_SENT = (EmailStatus.SUPERSEDED, EmailStatus.WITHDRAWN)


class FakeEmails(EmailLog, Notices):
    """The email log and the notices in it: one list of rows, as one table."""

    def __init__(self) -> None:
        self.rows: list[FakeEmail] = []

    def of(self, order_id: UUID) -> list[tuple[EmailKind, EmailStatus]]:
        return [(row.kind, row.status) for row in self.rows if row.order_id == order_id]

    def _add(self, row: FakeEmail) -> int | None:
        for other in self.rows:
            same = other.kind == row.kind and other.resend_of is None and row.resend_of is None
            if same and row.kind in _ONE_PER_ORDER and other.order_id == row.order_id:
                return None
            refunds = (other.refund and other.refund.refund_id, row.refund and row.refund.refund_id)
            if same and row.kind in _ONE_PER_REFUND and refunds[0] == refunds[1]:
                return None
        self.rows.append(replace(row, id=len(self.rows) + 1))
        return len(self.rows)

    async def queue(
        self, order_id: UUID, kind: EmailKind, to_address: str, notice: DelayNotice | None = None
    ) -> int | None:
        return self._add(FakeEmail(0, order_id, kind, to_address, notice))

    async def queue_refund(
        self, kind: EmailKind, to_address: str, notice: RefundNotice
    ) -> int | None:
        return self._add(FakeEmail(0, notice.order_id, kind, to_address, refund=notice))

    async def refund_notice(self, refund_id: int) -> RefundNotice | None:
        due = [r.refund for r in self.rows if r.kind is EmailKind.REFUND_DUE and r.refund]
        return next((n for n in reversed(due) if n.refund_id == refund_id), None)

    async def claim_links_since(self, refund_id: int, since: datetime) -> int:
        return sum(
            row.kind is EmailKind.CLAIM_LINK
            and row.refund is not None
            and row.refund.refund_id == refund_id
            and row.created_at > since
            for row in self.rows
        )

    async def resend(
        self, order_id: UUID, kind: EmailKind, actor: str, refund_id: int | None = None
    ) -> int | None:
        tried = [
            row
            for row in self.rows
            if (row.order_id, row.kind) == (order_id, kind)
            and row.status not in _NEVER_SENT
            and (refund_id is None or (row.refund and row.refund.refund_id == refund_id))
        ]
        if not tried:
            return None
        copy = replace(tried[-1], resend_of=tried[-1].id, requested_by=actor)
        return self._add(replace(copy, status=EmailStatus.PENDING))

    async def withdraw_key_emails(self, order_id: UUID) -> int:
        pending = [
            row
            for row in self.rows
            if row.order_id == order_id
            and row.kind in KEY_KINDS
            and row.status is EmailStatus.PENDING
        ]
        for row in pending:
            row.status = EmailStatus.WITHDRAWN
        return len(pending)

    async def _on_postgresql(self, *args: object, **kwargs: object) -> NoReturn:
        raise NotImplementedError("the sender's attempts are tested on PostgreSQL")

    claim_due = reach_data = finish_sent = finish_refused = _on_postgresql
    finish_unconfirmed = recover = resend_doubtful = stale = _on_postgresql


class FakeDeliveries(Deliveries):
    def __init__(self, emails: FakeEmails) -> None:
        self.rows: dict[UUID, StoredDelivery] = {}
        self.keys: dict[UUID, list[DeliveredKey]] = {}
        self.reveals: list[tuple[UUID, str | None, str | None]] = []
        self.audit: list[tuple[UUID, KeyEvent]] = []
        self.locks: Counter[UUID] = Counter()
        self._emails = emails

    def actions(self, order_id: UUID) -> list[str]:
        return [event.action for of, event in self.audit if of == order_id]

    async def lock_order(self, order_id: UUID) -> None:
        self.locks[order_id] += 1

    async def get(self, order_id: UUID) -> StoredDelivery | None:
        return self.rows.get(order_id)

    async def add(self, delivery: NewDelivery, keys: Sequence[DeliveredKey]) -> None:
        order_id, now = delivery.order_id, datetime.now(UTC)
        self.rows[order_id] = StoredDelivery(
            **vars(delivery), stored_at=now, emailed_at=None, viewed_at=None, purged_at=None
        )
        self.keys[order_id] = [replace(key, value="") for key in keys]  # never the value
        for row in self._emails.rows:
            if (row.order_id, row.kind, row.status) == (order_id, EmailKind.DELAYED, "pending"):
                row.status = EmailStatus.SUPERSEDED
        await self._emails.queue(order_id, EmailKind.DELIVERY, delivery.customer_email)

    async def record_reveal(self, order_id: UUID, ip: str | None, user_agent: str | None) -> None:
        self.reveals.append((order_id, ip, user_agent))
        if self.rows[order_id].viewed_at is None:
            self._set(order_id, viewed_at=datetime.now(UTC))

    async def reveal_count(self, order_id: UUID) -> int:
        return sum(of == order_id for of, _, _ in self.reveals)

    async def mark_revoked(self, order_id: UUID, actor: str, note: str | None) -> datetime:
        now = datetime.now(UTC)
        self._set(order_id, revoked_at=now, revoked_by=actor, revoke_note=note)
        return now

    async def record_event(self, order_id: UUID, event: KeyEvent) -> None:
        self.audit.append((order_id, event))

    async def wrapped_by_other_keks(
        self, current_kek_id: str, limit: int, skip: Sequence[UUID]
    ) -> list[tuple[UUID, str, bytes]]:
        return [
            (row.order_id, row.kek_id, row.wrapped_data_key)
            for row in sorted(self.rows.values(), key=lambda row: row.order_id)
            if row.kek_id != current_kek_id
            and row.wrapped_data_key is not None
            and row.order_id not in skip
        ][:limit]

    async def set_wrapped_data_key(self, order_id: UUID, kek_id: str, wrapped: bytes) -> None:
        self._set(order_id, kek_id=kek_id, wrapped_data_key=wrapped)

    async def due_for_purge(
        self, stored_before: datetime, limit: int, offset: int = 0
    ) -> list[tuple[UUID, str]]:
        due = sorted(
            (row.stored_at, row.order_id, row.object_key)
            for row in self.rows.values()
            if row.purged_at is None and row.stored_at < stored_before
        )
        return [(order_id, key) for _, order_id, key in due][offset : offset + limit]

    async def mark_purged(self, order_id: UUID) -> None:
        self._set(order_id, purged_at=datetime.now(UTC), wrapped_data_key=None)

    def _set(self, order_id: UUID, **changes: object) -> None:
        self.rows[order_id] = replace(self.rows[order_id], **changes)  # type: ignore[arg-type]


class FakeRateLimits(RateLimits):
    def __init__(self) -> None:
        self.hits: Counter[tuple[str, datetime]] = Counter()

    async def hit(self, limit: Limit, key: str, now: datetime) -> None:
        bucket = (f"{limit.name}:{key}", limit.window_start(now))
        self.hits[bucket] += 1
        if self.hits[bucket] > limit.max_hits:
            raise RateLimited(limit, limit.retry_after(now))

    async def forget_before(self, before: datetime) -> None:
        for bucket in [bucket for bucket in self.hits if bucket[1] < before]:
            del self.hits[bucket]


class FakeSummaries(Summaries):
    def __init__(self) -> None:
        self.rows: dict[UUID, tuple[OrderSummary, datetime | None]] = {}

    async def record(
        self, order_id: UUID, summary: OrderSummary, paid_at: datetime | None = None
    ) -> bool:
        if order_id in self.rows:
            return False
        self.rows[order_id] = (summary, paid_at)
        return True

    async def of_order(self, order_id: UUID) -> OrderSummary | None:
        return self.rows[order_id][0] if order_id in self.rows else None

    async def paid_at(self, order_id: UUID) -> datetime | None:
        return self.rows[order_id][1] if order_id in self.rows else None


class FakeDeliveryWork(FakeWork):
    """`handlers.ports.DeliveryWork` in memory; the same one may be handed out again
    (`lambda: work`) for a use case that opens several units of work. As on PostgreSQL,
    only a commit keeps what the repositories hold: leaving without one goes back to the
    last commit."""

    def __init__(self) -> None:
        super().__init__()
        self.emails = FakeEmails()
        self.notices = self.emails
        self.deliveries = FakeDeliveries(self.emails)
        self.rate_limits = FakeRateLimits()
        self.summaries = FakeSummaries()
        self._committed = self._snapshot()

    def _repositories(self) -> tuple[object, ...]:
        return (self.emails, self.deliveries, self.rate_limits, self.summaries)

    def _snapshot(self) -> list[dict[str, object]]:
        # The repositories keep referring to one another, not to copies.
        keep: dict[int, object] = {id(each): each for each in self._repositories()}
        return [copy.deepcopy(vars(each), dict(keep)) for each in self._repositories()]

    async def commit(self) -> None:
        self._committed = self._snapshot()
        await super().commit()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for each, state in zip(self._repositories(), self._committed, strict=True):
            vars(each).clear()
            vars(each).update(state)
        self._committed = self._snapshot()
        await super().__aexit__(exc_type, exc, traceback)


class FakeStore:
    """The object store in memory."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    async def put(self, key: str, body: bytes) -> None:
        self.objects[key] = body

    async def get(self, key: str) -> bytes:
        return self.objects[key]

    async def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    async def presigned_get(self, key: str, ttl_seconds: int) -> str:
        return f"https://store.test/{key}?ttl={ttl_seconds}"
