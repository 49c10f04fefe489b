"""Payments' unit of work in memory: repositories that subclass the same ports as the real
ones (`bitloot_payments.handlers.ports`), over one `Store` that only a commit keeps."""

import copy
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import TracebackType
from typing import NoReturn
from uuid import UUID, uuid4

from bitloot_payments.domain.availability import Availability
from bitloot_payments.domain.order import PricedLine
from bitloot_payments.domain.payment import LIVE, Notification, OrderState, PaymentState
from bitloot_payments.domain.records import (
    ERROR,
    OPEN,
    PENDING,
    Flag,
    IpnEntry,
    Line,
    LoggedIpn,
    Order,
    PaymentRecord,
    Processed,
    Refund,
)
from bitloot_payments.handlers import ports
from bitloot_payments.handlers.ports import (
    PayoutRow,
    Product,
    RefundToPay,
)
from bitloot_payments.handlers.process_ipns import IpnProcessor
from bitloot_payments.handlers.queries import CustomerOrder
from bitloot_payments.handlers.receive_ipn import claims
from bitloot_runtime.rate_limits import Limit, RateLimited
from bitloot_testing.fakes import FakeWork


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Store:
    """Every row the fakes hold."""

    orders: dict[UUID, Order] = field(default_factory=dict)
    lines: dict[UUID, list[Line]] = field(default_factory=dict)
    payments: dict[str, PaymentRecord] = field(default_factory=dict)
    flags: dict[int, Flag] = field(default_factory=dict)
    ipns: dict[int, LoggedIpn] = field(default_factory=dict)
    refunds: dict[int, Refund] = field(default_factory=dict)
    availability: dict[str, Availability] = field(default_factory=dict)
    products: dict[str, Product] = field(default_factory=dict)
    hits: Counter[tuple[str, datetime]] = field(default_factory=Counter)


async def _on_postgres(*args: object, **kwargs: object) -> NoReturn:
    """What a fake answers where the real repository's SQL is all there is to test."""
    raise NotImplementedError("tested on PostgreSQL")


class _Repository:
    def __init__(self, work: "FakePaymentsWork") -> None:
        self._work = work

    @property
    def _store(self) -> Store:
        return self._work.store


class FakeOrders(_Repository, ports.Orders):
    async def insert(
        self,
        order_id: UUID,
        email: str,
        lines: list[PricedLine],
        total: Decimal,
        currency: str,
        idempotency: tuple[str, str] | None = None,
    ) -> bool:
        key, request_hash = idempotency or (None, None)
        if key is not None and await self.by_key(key):
            return False
        now = _now()
        self._store.orders[order_id] = Order(
            order_id, email, "created", total, currency, None, None, None, None, None, None,
            now, now, key, request_hash,
        )  # fmt: skip
        self._store.lines[order_id] = [
            Line(x.sku, x.kinguin_product_id, x.qty, x.unit_price, x.max_unit_price) for x in lines
        ]
        return True

    async def by_key(self, key: str) -> Order | None:
        return next((o for o in self._store.orders.values() if o.idempotency_key == key), None)

    async def record_invoice(
        self, order_id: UUID, invoice_id: str, invoice_url: str, reconcile_in: timedelta
    ) -> None:
        self._change(
            order_id,
            invoice_id=invoice_id,
            invoice_url=invoice_url,
            status="invoiced",
            invoiced_at=_now(),
            reconcile_at=_now() + reconcile_in,
        )

    async def load(self, order_id: UUID, *, lock: bool = False) -> Order | None:
        return self._store.orders.get(order_id)

    lock = load

    async def lines(self, order_id: UUID) -> list[Line]:
        return sorted(self._store.lines.get(order_id, []), key=lambda line: line.sku)

    async def save_state(self, state: OrderState) -> None:
        order = self._store.orders[state.order_id]
        paid_at = order.paid_at or (_now() if state.status == "paid" else None)
        self._change(
            state.order_id,
            status=state.status,
            payment_id=state.payment_id,
            payment_status=state.payment_status,
            closed_at=state.closed_at,
            paid_at=paid_at,
        )

    async def record_fulfilment(self, order_id: UUID, state: str, at: datetime) -> bool:
        order = self._store.orders.get(order_id)
        if order is None or (order.fulfilment_at is not None and order.fulfilment_at >= at):
            return False
        self._store.orders[order_id] = replace(order, fulfilment_state=state, fulfilment_at=at)
        return True

    async def record_fulfilled(self, order_id: UUID, at: datetime) -> bool | None:
        if not await self.record_fulfilment(order_id, "fulfilled", at):
            return None
        return any(r.order_id == order_id for r in self._store.refunds.values())

    async def record_key_email(self, order_id: UUID, sent: bool) -> bool:
        order = self._store.orders.get(order_id)
        if order is None:
            return False
        confirmed = bool(order.key_email_confirmed) or sent
        self._store.orders[order_id] = replace(order, key_email_confirmed=confirmed)
        return True

    async def set_status(self, order_id: UUID, status: str) -> None:
        self._change(order_id, status=status)

    def _change(self, order_id: UUID, **changes: object) -> None:
        order = self._store.orders[order_id]
        self._store.orders[order_id] = replace(order, updated_at=_now(), **changes)  # type: ignore[arg-type]


class FakePayments(_Repository, ports.Payments):
    async def load(self, payment_id: str) -> PaymentRecord | None:
        return self._store.payments.get(payment_id)

    lock = load

    async def order_of(self, payment_id: str) -> UUID | None:
        found = self._store.payments.get(payment_id)
        return found.order_id if found else None

    async def others_live(self, order_id: UUID, payment_id: str) -> bool:
        return any(
            p.order_id == order_id and p.payment_id != payment_id and p.status in LIVE
            for p in self._store.payments.values()
        )

    async def save(
        self, ipn: Notification, state: PaymentState, order: OrderState | None = None
    ) -> None:
        known = self._store.payments.get(ipn.payment_id)
        now, seen, status = _now(), sorted(state.seen), state.status or ipn.status
        if known is None or state.status == ipn.status:
            created = known.created_at if known else now
            self._store.payments[ipn.payment_id] = PaymentRecord(
                ipn.payment_id, ipn.order_id, ipn.parent_payment_id, status, seen,
                ipn.price_amount, ipn.price_currency, ipn.pay_amount, ipn.actually_paid,
                ipn.pay_currency, created, now,
            )  # fmt: skip
        else:
            saved = replace(known, status=status, seen=seen, updated_at=now)
            self._store.payments[ipn.payment_id] = saved
        if order is not None:
            await self._work.orders.save_state(order)


class FakeFlags(_Repository, ports.Flags):
    async def add(self, flag: Flag) -> None:
        flag_id = len(self._store.flags) + 1
        self._store.flags[flag_id] = replace(flag, id=flag_id, created_at=_now())

    async def load(self, flag_id: int, *, lock: bool = False) -> Flag | None:
        return self._store.flags.get(flag_id)

    async def resolve(self, flag_id: int, status: str, actor: str, note: str | None) -> None:
        flag = self._store.flags[flag_id]
        resolved = replace(flag, status=status, resolved_by=actor, resolved_at=_now(), note=note)
        self._store.flags[flag_id] = resolved

    async def resolve_of_ipn(self, ipn_id: int, kind: str, status: str, actor: str) -> None:
        for flag in list(self._store.flags.values()):
            if flag.ipn_id == ipn_id and flag.kind == kind and flag.status == OPEN:
                await self.resolve(flag.id, status, actor, flag.note)

    async def of_order(self, order_id: UUID, kind: str) -> list[Flag]:
        found = [f for f in self._store.flags.values() if f.order_id == order_id and f.kind == kind]
        return found[::-1][:100]


class FakeIpnLog(_Repository, ports.IpnLog):
    async def add(self, entry: IpnEntry) -> int:
        ipn_id = len(self._store.ipns) + 1
        processed_at = None if entry.result == PENDING else _now()
        self._store.ipns[ipn_id] = LoggedIpn(
            ipn_id, _now(), entry.signature_valid, entry.payment_id, entry.order_id,
            entry.status, entry.duplicate, entry.result, processed_at, entry.raw_body,
            entry.source, traceparent=entry.traceparent,
        )  # fmt: skip
        return ipn_id

    async def claim_due(self, limit: int) -> list[LoggedIpn]:
        due = [
            ipn
            for ipn in self._store.ipns.values()
            if ipn.processed_at is None
            and (ipn.next_attempt_at is None or ipn.next_attempt_at <= _now())
        ]
        return due[:limit]

    async def mark_processed(self, processed: list[Processed]) -> None:
        for done in processed:
            ipn = self._store.ipns[done.ipn_id]
            self._store.ipns[done.ipn_id] = replace(
                ipn,
                result=done.result,
                duplicate=done.duplicate,
                processed_at=_now(),
                next_attempt_at=None,
                order_id=done.order_id or ipn.order_id,
            )

    async def record_failure(
        self, ipn_id: int, error: str, defects: int, retry_in: float | None
    ) -> None:
        ipn = self._store.ipns[ipn_id]
        failed = replace(ipn, retries=ipn.retries + 1, defects=defects, last_error=error)
        if retry_in is None:
            failed = replace(failed, result=ERROR, processed_at=_now(), next_attempt_at=None)
        else:
            failed = replace(failed, next_attempt_at=_now() + timedelta(seconds=retry_in))
        self._store.ipns[ipn_id] = failed

    async def requeue(self, ipn_id: int, actor: str) -> LoggedIpn | None:
        ipn = self._store.ipns.get(ipn_id)
        if ipn is not None and ipn.result == ERROR:
            self._store.ipns[ipn_id] = replace(
                ipn, result=PENDING, processed_at=None, next_attempt_at=None, defects=0,
                replayed_by=actor, replayed_at=_now(),
            )  # fmt: skip
        return self._store.ipns.get(ipn_id)

    async def load(self, ipn_id: int, *, lock: bool = False) -> LoggedIpn | None:
        return self._store.ipns.get(ipn_id)


class FakeRefunds(_Repository, ports.Refunds):
    async def add(self, refund: Refund) -> int:
        refund_id = len(self._store.refunds) + 1
        self._store.refunds[refund_id] = replace(refund, id=refund_id, created_at=_now())
        return refund_id

    async def add_whole_order(self, refund: Refund) -> int | None:
        for known in self._store.refunds.values():
            if (known.order_id, known.reason, known.flag_id) == (
                refund.order_id,
                refund.reason,
                None,
            ):
                return None
        return await self.add(refund)

    async def load(self, refund_id: int, *, lock: bool = False) -> Refund | None:
        return self._store.refunds.get(refund_id)

    async def of_order(self, order_id: UUID, *, lock: bool = False) -> list[Refund]:
        return [r for r in self._store.refunds.values() if r.order_id == order_id]

    async def move(self, refund_id: int, status: str, **changes: object) -> Refund:
        refund = self._store.refunds[refund_id]
        moved = replace(refund, status=status, updated_at=_now(), **changes)  # type: ignore[arg-type]
        self._store.refunds[refund_id] = moved
        return moved


class FakeAvailabilities(_Repository, ports.Availabilities):
    async def record(self, availability: Availability) -> bool:
        known = self._store.availability.get(availability.kinguin_product_id)
        if known is not None and known.observed_at >= availability.observed_at:
            return False
        self._store.availability[availability.kinguin_product_id] = availability
        return True

    async def of(self, product_ids: Iterable[str]) -> dict[str, Availability]:
        return {
            i: self._store.availability[i] for i in product_ids if i in self._store.availability
        }


class FakeCatalog(_Repository, ports.Catalog):
    async def by_sku(self, skus: Iterable[str]) -> dict[str, Product]:
        return {sku: self._store.products[sku] for sku in skus if sku in self._store.products}

    async def all(self) -> list[Product]:
        known = self._store.availability
        return [
            replace(p, availability=known.get(p.kinguin_product_id))
            for _, p in sorted(self._store.products.items())
        ]

    async def sells(self, kinguin_product_id: str) -> bool:
        return any(
            p.active and p.kinguin_product_id == kinguin_product_id
            for p in self._store.products.values()
        )

    async def upsert(self, product: Product) -> Product:
        self._store.products[product.sku] = replace(product, updated_at=_now(), availability=None)
        return self._store.products[product.sku]


class FakePayouts(_Repository, ports.PayoutLedger):
    """The refunds a payout pays; payouts themselves (never stored here) are tested on
    PostgreSQL, against the NOWPayments sandbox."""

    async def claim_approved_refund(self) -> RefundToPay | None:
        approved = [r for r in self._store.refunds.values() if r.status == "approved"]
        return await self.lock_refund(approved[0].id) if approved else None

    async def lock_refund(self, refund_id: int) -> RefundToPay:
        r = self._store.refunds[refund_id]
        email = self._store.orders[r.order_id].email
        return RefundToPay(
            r.id, r.order_id, r.status, r.amount, r.currency, r.reason, r.cause,
            r.payout_address, r.payout_extra_id, email,
        )  # fmt: skip

    async def claim(self, statuses: frozenset[str], untouched_since: datetime) -> PayoutRow | None:
        return None

    async def claim_pending_ipn(self) -> tuple[int, bytes] | None:
        return None

    next_attempt = insert = lock = lock_by_provider_id = update = log_ipn = mark_ipn = _on_postgres


class FakeReconciliation(_Repository, ports.Reconciliation):
    """The reconciler's claims and leases are tested on PostgreSQL."""

    claim_due = known_payments = order_status = schedule = expire_unpaid = _on_postgres


class FakeFigures(_Repository, ports.Figures):
    """The home page's aggregates are SQL's: tested on PostgreSQL (test_internal_stats)."""

    hourly = open_flags = refunds_owed = _on_postgres


class FakeRateLimits(_Repository, ports.RateLimits):
    async def hit(self, limit: Limit, key: str, now: datetime) -> None:
        bucket = (f"{limit.name}:{key}", limit.window_start(now))
        self._store.hits[bucket] += 1
        if self._store.hits[bucket] > limit.max_hits:
            raise RateLimited(limit, limit.retry_after(now))

    async def forget_before(self, before: datetime) -> int:
        old = [bucket for bucket in self._store.hits if bucket[1] < before]
        for bucket in old:
            del self._store.hits[bucket]
        return len(old)


class FakePaymentsWork(FakeWork):
    """`PaymentsWork` in memory: `store` is what the repositories see now, and only a
    commit keeps it; leaving without one, or `rollback()`, goes back to the last commit."""

    def __init__(self, store: Store | None = None) -> None:
        super().__init__()
        self.store = store or Store()
        self._committed = copy.deepcopy(self.store)
        self.orders = FakeOrders(self)
        self.payments = FakePayments(self)
        self.flags = FakeFlags(self)
        self.ipns = FakeIpnLog(self)
        self.refunds = FakeRefunds(self)
        self.availability = FakeAvailabilities(self)
        self.catalog = FakeCatalog(self)
        self.payouts = FakePayouts(self)
        self.reconciliation = FakeReconciliation(self)
        self.rate_limits = FakeRateLimits(self)
        self.figures = FakeFigures(self)

    async def commit(self) -> None:
        self._committed = copy.deepcopy(self.store)
        await super().commit()

    async def rollback(self) -> None:
        """As the real one: the rows and queued events since the last commit are undone;
        `on_commit` callbacks are kept."""
        self.store = copy.deepcopy(self._committed)
        self._pending.clear()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.rollback()
        await super().__aexit__(exc_type, exc, traceback)

    def factory(self) -> Callable[[], "FakePaymentsWork"]:
        """What a use case opening its own units of work is given: this one, each time."""
        return lambda: self


NOW = datetime.now(UTC)


async def placed(uow: FakePaymentsWork) -> UUID:
    """An order of two of `g-1` (25 usd), invoiced and committed; its id."""
    order_id = uuid4()
    line = PricedLine("g-1", "kp-1", 2, Decimal("12.5"), Decimal(13), "usd")
    await uow.orders.insert(order_id, "buyer@example.com", [line], Decimal(25), "usd")
    await uow.orders.record_invoice(order_id, "inv-1", "https://pay.test/inv-1", timedelta(1))
    await uow.commit()
    return order_id


async def paid(uow: FakePaymentsWork, actually_paid: str | None = "25.1") -> UUID:
    """An order `placed`, paid by payment 5077125051 (`actually_paid` usdttrc20)."""
    order_id = await placed(uow)
    await uow.orders.set_status(order_id, "paid")
    uow.store.orders[order_id] = replace(
        uow.store.orders[order_id], paid_at=NOW, payment_id="5077125051"
    )
    amount = Decimal(actually_paid) if actually_paid else None
    uow.store.payments["5077125051"] = PaymentRecord(
        "5077125051", order_id, None, "finished", ["finished"], Decimal(25), "usd",
        Decimal("25.1"), amount, "usdttrc20", NOW, NOW,
    )  # fmt: skip
    await uow.commit()
    return order_id


async def apply_ipns(uow: FakePaymentsWork, *documents: dict[str, object]) -> list[str]:
    """`documents` stored as the edge stores authentic IPNs, and applied by the processor:
    the results of every IPN logged so far, oldest first."""
    for document in documents:
        body = json.dumps(document).encode()
        await uow.ipns.add(IpnEntry(body, True, PENDING, *claims(json.loads(body))))
    await uow.commit()
    await IpnProcessor(uow.factory()).drain()
    return [logged.result for logged in uow.store.ipns.values()]


async def customer_status(uow: FakePaymentsWork, order_id: UUID) -> str:
    """What the customer is told of the order, as `ReadOrder` reads it."""
    refunds = await uow.refunds.of_order(order_id)
    flags = uow.store.flags.values()
    under_review = any(f.order_id == order_id and f.status == OPEN for f in flags)
    return CustomerOrder(uow.store.orders[order_id], [], under_review, refunds).customer_status
