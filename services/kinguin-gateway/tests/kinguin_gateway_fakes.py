"""The gateway's repositories in memory, subclassing the same ports as the real ones, for
handler tests of business rules without a database (`FakeGatewayWork`)."""

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID, uuid4

from pydantic import JsonValue

from bitloot_kinguin_gateway.domain.key_return import ASKED, KeyReturn
from bitloot_kinguin_gateway.domain.product import Availability, Product
from bitloot_kinguin_gateway.domain.reservation import Attempt, Reservation, external_id
from bitloot_kinguin_gateway.domain.webhook import DUPLICATE, LoggedWebhook, WebhookCall
from bitloot_kinguin_gateway.handlers.ports import KeyReturns, Products, Reservations, Webhooks
from bitloot_testing.fakes import FakeWork

# What a new attempt forgets of the one before.
_NOTHING_KNOWN = dict.fromkeys(
    ("kinguin_order_id", "kinguin_status", "kinguin_updated_at", "failure_code", "settled_at")
) | {"failure_reason": None}


def _now() -> datetime:
    return datetime.now(UTC)


class FakeReservations(Reservations):
    """Reservations by order, and every order's attempts (external ids) in order."""

    def __init__(self) -> None:
        self.rows: dict[UUID, Reservation] = {}
        self.tried: dict[UUID, list[Attempt]] = {}
        self.sent: dict[str, datetime] = {}

    async def lock_order(self, order_id: UUID) -> None:
        pass  # one test, one task: nothing runs beside the handler

    async def mark_sent(self, order_external_id: str) -> datetime:
        self.sent[order_external_id] = stamp = _now()
        return stamp

    async def unstamp(self, order_external_id: str, stamp: datetime) -> None:
        if self.sent.get(order_external_id) == stamp:
            del self.sent[order_external_id]

    async def in_flight(self, order_external_id: str, window: float) -> float:
        sent = self.sent.get(order_external_id)
        return 0.0 if sent is None else max(0.0, window - (_now() - sent).total_seconds())

    async def open(
        self, order_id: UUID, lines: list[dict[str, JsonValue]]
    ) -> tuple[Reservation, datetime | None]:
        if order_id in self.rows:
            return self.rows[order_id], None
        now = _now()
        nothing = (None,) * 9  # from the Kinguin order to the keys
        row = Reservation(order_id, uuid4(), "placing", lines, *nothing, 1, now, now)
        self.rows[order_id] = row
        self.tried[order_id] = [Attempt(external_id(order_id, 1), order_id, 1, None, None)]
        return row, await self.mark_sent(external_id(order_id, 1))

    async def attempts(self, order_id: UUID) -> list[Attempt]:
        return list(self.tried.get(order_id, []))

    async def start_attempt(self, order_id: UUID) -> Reservation:
        number = len(self.tried[order_id]) + 1
        self.tried[order_id].append(
            Attempt(external_id(order_id, number), order_id, number, None, None)
        )
        self._update(order_id, state="placing", attempt=number, **_NOTHING_KNOWN)
        return self.rows[order_id]

    async def locate(
        self, kinguin_order_id: str | None, order_external_id: str | None, order_id: UUID | None
    ) -> tuple[Attempt | None, Reservation | None, str | None]:
        every = [a for tried in self.tried.values() for a in tried]
        attempt = next(
            (a for a in every if kinguin_order_id and a.kinguin_order_id == kinguin_order_id),
            next((a for a in every if a.external_id == order_external_id), None),
        )
        by_kinguin = [r for r in self.rows.values() if r.kinguin_order_id == kinguin_order_id]
        wanted = by_kinguin[0].order_id if kinguin_order_id and by_kinguin else None
        wanted = wanted or (attempt.order_id if attempt else None) or order_id
        return attempt, self.rows.get(wanted) if wanted else None, None

    async def record_attempt_status(
        self, attempt: Attempt, kinguin_order_id: str, status: str
    ) -> None:
        self._attempt(attempt.order_id, attempt.attempt, kinguin_order_id, status)

    async def get(self, order_id: UUID, *, for_update: bool = False) -> Reservation | None:
        return self.rows.get(order_id)

    async def mark_placed(
        self, order_id: UUID, kinguin_order_id: str, status: str, *, attempt: Attempt | None = None
    ) -> None:
        row = self.rows[order_id]
        number = attempt.attempt if attempt else row.attempt
        known = status if attempt else row.kinguin_status or status
        self._update(
            order_id,
            state="placed",
            kinguin_order_id=kinguin_order_id,
            kinguin_status=known,
            attempt=number,
            settled_at=_now(),
            failure_code=None,
            failure_reason=None,
        )
        self._attempt(order_id, number, kinguin_order_id, status)

    async def mark_failed(self, order_id: UUID, code: str, reason: str) -> None:
        self._update(
            order_id, state="failed", failure_code=code, failure_reason=reason, settled_at=_now()
        )

    async def record_status(
        self, order_id: UUID, kinguin_order_id: str, status: str, at: datetime | None
    ) -> None:
        row = self.rows[order_id]
        self._update(
            order_id,
            kinguin_order_id=row.kinguin_order_id or kinguin_order_id,
            kinguin_status=status,
            kinguin_updated_at=at or row.kinguin_updated_at,
        )
        for tried in self.tried.values():
            for a in tried:
                if a.kinguin_order_id == kinguin_order_id:
                    self._attempt(a.order_id, a.attempt, kinguin_order_id, status)

    async def record_keys(self, order_id: UUID, count: int, email: str) -> None:
        self._update(order_id, keys_sealed_at=_now(), keys_count=count, customer_email=email)

    def _update(self, order_id: UUID, **changes: object) -> None:
        self.rows[order_id] = replace(self.rows[order_id], updated_at=_now(), **changes)  # type: ignore[arg-type]

    def _attempt(self, order_id: UUID, number: int, kinguin_order_id: str, status: str) -> None:
        tried = self.tried[order_id]
        old = tried[number - 1]
        tried[number - 1] = replace(
            old, kinguin_order_id=old.kinguin_order_id or kinguin_order_id, kinguin_status=status
        )


class FakeProducts(Products):
    """Products by Kinguin id; `prices` answers from those in stock (their age is not
    kept: every price counts as fresh)."""

    def __init__(self) -> None:
        self.rows: dict[str, Product] = {}
        self.synced: set[str] = set()
        self.listed_at: dict[str, datetime] = {}

    async def prices(self, product_ids: Iterable[str], max_age: float) -> dict[str, Decimal]:
        found = {i: self.rows[i].availability for i in product_ids if i in self.synced}
        return {i: a.price for i, a in found.items() if a and a.price is not None and a.qty > 0}

    async def set_listed(self, product_id: str, *, watched: bool, listed_at: datetime) -> bool:
        """As the real one: a listing older than the one applied already changes nothing."""
        if product_id in self.listed_at and self.listed_at[product_id] >= listed_at:
            return False
        known = self.rows.get(product_id, Product(product_id, watched, None, None))
        self.rows[product_id] = replace(known, watched=watched)
        self.listed_at[product_id] = listed_at
        return True

    async def get(self, product_id: str, *, for_update: bool = False) -> Product | None:
        return self.rows.get(product_id)

    async def watched(self) -> list[str]:
        return [i for i, product in self.rows.items() if product.watched]

    async def unread(self) -> list[str]:
        return [i for i in await self.watched() if i not in self.synced]

    async def record(
        self, product_id: str, availability: Availability, at: datetime, *, synced: bool
    ) -> None:
        product = self.rows[product_id]
        self.rows[product_id] = replace(product, availability=availability, kinguin_updated_at=at)
        if synced:
            self.synced.add(product_id)

    async def mark_synced(self, product_id: str) -> None:
        self.synced.add(product_id)


class FakeKeyReturns(KeyReturns):
    def __init__(self) -> None:
        self.rows: dict[str, KeyReturn] = {}

    async def get(self, kinguin_order_id: str) -> KeyReturn | None:
        return self.rows.get(kinguin_order_id)

    async def refunded_by_us(self, kinguin_order_id: str, status: str) -> bool:
        asked = self.rows.get(kinguin_order_id)
        return status == "refunded" and asked is not None and asked.state in ASKED

    async def add(
        self,
        kinguin_order_id: str,
        order_id: UUID,
        state: str,
        *,
        requested_by: str | None,
        reason: str | None = None,
    ) -> bool:
        if kinguin_order_id in self.rows:
            return False
        settled = None if state == "requested" else _now()
        self.rows[kinguin_order_id] = KeyReturn(
            kinguin_order_id, order_id, state, reason, None, requested_by, _now(), settled
        )
        return True

    async def settle(
        self, kinguin_order_id: str, state: str, *, reason: str | None, key_count: int | None
    ) -> None:
        self.rows[kinguin_order_id] = replace(
            self.rows[kinguin_order_id],
            state=state,
            reason=reason,
            key_count=key_count,
            settled_at=_now(),
        )


class FakeWebhooks(Webhooks):
    """The log as a list; an authenticated order notification seen before is a copy."""

    def __init__(self) -> None:
        self.rows: list[LoggedWebhook] = []

    async def record(self, call: WebhookCall) -> tuple[int, bool]:
        n, note, applied = call.notification, call.note, call.applied
        # The real log's unique index on the first authenticated copy: these four fields,
        # NULLs distinct (so a call without `updatedAt` is never a copy).
        first_copy = (n.event_name, n.kinguin_order_id, n.status, n.updated_at)
        copy = call.authenticated and None not in first_copy
        copy = copy and any(
            r.authenticated
            and not r.duplicate
            and (r.event_name, r.kinguin_order_id, r.status, r.updated_at) == first_copy
            for r in self.rows
        )
        if copy:
            note, applied = DUPLICATE, False
        fields = (n.event_name, n.kinguin_order_id, n.order_external_id, call.order_id, n.status)
        row_id = len(self.rows) + 1
        logged = LoggedWebhook(
            row_id, _now(), *fields, n.updated_at, call.raw_body, dict(call.headers),
            call.authenticated,
            copy, applied, note,
        )  # fmt: skip
        self.rows.append(logged)
        return row_id, copy

    async def settle(
        self, row_id: int, *, order_id: UUID | None, applied: bool, note: str | None
    ) -> None:
        row = self.rows[row_id - 1]
        self.rows[row_id - 1] = replace(row, order_id=order_id, applied=applied, note=note)

    async def get(self, row_id: int, *, for_update: bool = False) -> LoggedWebhook | None:
        return self.rows[row_id - 1] if 0 < row_id <= len(self.rows) else None


class FakeGatewayWork(FakeWork):
    """`GatewayWork` in memory; one instance stands for the database across the units of
    work of a test (`lambda: work` as a use case's factory)."""

    def __init__(self) -> None:
        super().__init__()
        self.reservations = FakeReservations()
        self.products = FakeProducts()
        self.key_returns = FakeKeyReturns()
        self.webhooks = FakeWebhooks()
