"""Read-side use cases: an order with its lines, order listings, a payment, a flag, and an
order's timeline."""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from uuid import UUID

from bitloot_contracts.customer import CustomerStatus
from bitloot_payments.adapters.orders import OrderQuery
from bitloot_payments.adapters.unit_of_work import PaymentsUnitOfWork
from bitloot_payments.domain.order import customer_status, saga_state
from bitloot_payments.domain.records import (
    Flag,
    IpnFilter,
    Line,
    LoggedIpn,
    Order,
    PaymentFilter,
    PaymentRecord,
    Refund,
)
from bitloot_payments.domain.refunds import speaking_status
from bitloot_payments.handlers.ports import Product


@dataclass(frozen=True)
class TimelineItem:
    """One thing that happened to an order, for the admin's timeline."""

    at: datetime
    kind: str
    summary: str
    data: dict[str, str | bool | None] = field(default_factory=dict)


def _ipn_item(ipn: LoggedIpn) -> TimelineItem:
    validity = "valid" if ipn.signature_valid else "invalid signature"
    note = ", duplicate" if ipn.duplicate else ""
    return TimelineItem(
        at=ipn.received_at,
        kind="ipn_received",
        summary=f"IPN {ipn.status or '?'} ({validity}{note}): {ipn.result}",
        data={
            "payment_id": ipn.payment_id,
            "status": ipn.status,
            "signature_valid": ipn.signature_valid,
            "duplicate": ipn.duplicate,
            "result": ipn.result,
        },
    )


def _flag_item(flag: Flag) -> TimelineItem:
    at = flag.created_at or datetime.now(UTC)
    data: dict[str, str | bool | None] = {"flag": flag.kind, "payment_id": flag.payment_id}
    return TimelineItem(at, "flagged", f"Flagged for an admin: {flag.detail}", data)


def timeline_of(
    order: Order | None, ipns: list[LoggedIpn], flagged: list[Flag]
) -> list[TimelineItem]:
    """The order's history as this service saw it, oldest first."""
    items = [*map(_ipn_item, ipns), *map(_flag_item, flagged)]
    if order is not None:
        amount = f"{order.total.normalize():f} {order.currency}"
        items.append(TimelineItem(order.created_at, "order_created", f"Order created for {amount}"))
        if order.invoiced_at is not None:
            items.append(
                TimelineItem(
                    order.invoiced_at,
                    "invoice_created",
                    "NOWPayments invoice created",
                    {"invoice_id": order.invoice_id},
                )
            )
        if order.paid_at is not None:
            items.append(
                TimelineItem(
                    order.paid_at,
                    "payment_finished",
                    f"Payment finished: {amount} received",
                    {"payment_id": order.payment_id},
                )
            )
    return sorted(items, key=lambda item: item.at)


@dataclass(frozen=True)
class CustomerOrder:
    order: Order
    lines: list[Line]
    under_review: bool
    refunds: list[Refund] = field(default_factory=list)
    # The catalog's entries of the lines' skus, with what Kinguin last had of each (its
    # title and whether it is a preorder, for the customer's order page).
    products: dict[str, Product] = field(default_factory=dict)

    @property
    def customer_status(self) -> CustomerStatus:
        """One status everywhere: the refund that speaks for the order, else the saga
        (a fulfilled order whose key email delivery did not confirm is `keys_ready`)."""
        order = self.order
        owed = [(refund.status, refund.flag_id is None) for refund in self.refunds]
        return customer_status(
            order.status,
            saga_state(order.fulfilment_state),
            self.under_review,
            speaking_status(owed, order.status),
            email_confirmed=order.key_email_confirmed is not False,
        )


@dataclass(frozen=True)
class OrderListPage:
    """A page of orders and where the next page starts (None: no more)."""

    items: list[CustomerOrder]
    after: tuple[datetime, UUID] | None


# A customer-status filter reads orders in batches of this many, and at most this many
# orders for one page (`ListOrders`), so that a rare status cannot scan the table.
_BATCH = 200
_SCAN = 2000


@dataclass(frozen=True)
class FlagDetail:
    """A flag with the status of its order (None: no order of ours) and its refund."""

    flag: Flag
    order_status: str | None
    refunds: list[Refund]


@dataclass(frozen=True)
class PaymentDetail:
    payment: PaymentRecord
    ipns: list[LoggedIpn]
    flags: list[Flag]


@dataclass(frozen=True)
class _Read:
    """A read-side use case: each call reads in a unit of work of its own. The reads that
    are one repository call are made by the endpoints (`entrypoints.edge.read`)."""

    unit_of_work: Callable[[], PaymentsUnitOfWork]


class ReadOrder(_Read):
    async def __call__(self, order_id: UUID) -> CustomerOrder | None:
        """An order as its customer (or an admin) sees it: with its lines, whether an
        admin has a flag of it to decide, and its refunds (oldest first)."""
        async with self.unit_of_work() as uow:
            order = await uow.orders.load(order_id)
            if order is None:
                return None
            lines = await uow.orders.lines(order_id)
            under_review = await uow.orders.has_open_flag(order_id)
            owed = await uow.refunds.of_order(order_id)
            products = await uow.catalog.by_sku({line.sku for line in lines})
            known = await uow.availability.of({p.kinguin_product_id for p in products.values()})
            for sku, product in products.items():
                products[sku] = replace(product, availability=known.get(product.kinguin_product_id))
            return CustomerOrder(order, lines, under_review, owed, products)


@dataclass(frozen=True)
class ListOrders(_Read):
    # A paid order not fulfilled for longer than this is `stuck` (the list's preset).
    stuck_after: timedelta = timedelta(minutes=15)

    async def __call__(
        self, which: OrderQuery, *, limit: int, after: tuple[datetime, UUID] | None
    ) -> OrderListPage:
        """A page of orders `which` names, each with what its customer is told
        (`customer_status`), for which every order's refunds and open flags are read in one
        query each. Lines are not read for a list (`lines` is empty).

        The customer status is computed, so a filter on it reads batches and keeps the
        matching orders, up to `_SCAN` orders per page: a page may then hold fewer than
        `limit` orders and still have a `cursor` (where the reading stopped)."""
        which = replace(which, stuck_before=datetime.now(UTC) - self.stuck_after)
        batch = limit if which.customer is None else max(limit, _BATCH)
        kept: list[CustomerOrder] = []
        position = after
        async with self.unit_of_work() as uow:
            for _ in range(max(1, _SCAN // batch)):
                found = await uow.orders.find(which, limit=batch, after=position)
                for order in await self._told(uow, found):
                    position = (order.order.created_at, order.order.order_id)
                    if which.customer in (None, order.customer_status):
                        kept.append(order)
                        if len(kept) == limit:
                            return OrderListPage(kept, position)
                if len(found) < batch:
                    return OrderListPage(kept, None)
        return OrderListPage(kept, position)

    @staticmethod
    async def _told(uow: PaymentsUnitOfWork, found: list[Order]) -> list[CustomerOrder]:
        ids = [order.order_id for order in found]
        reviewed = await uow.orders.with_open_flags(ids)
        owed = await uow.refunds.of_orders(ids)
        return [
            CustomerOrder(order, [], order.order_id in reviewed, owed.get(order.order_id, []))
            for order in found
        ]


class ReadPayment(_Read):
    async def __call__(self, payment_id: str) -> PaymentDetail | None:
        """A payment with every IPN that named it (oldest first) and its flags."""
        async with self.unit_of_work() as uow:
            found = await uow.payments.find(PaymentFilter(payment_id=payment_id), limit=1)
            if not found:
                return None
            history = await uow.ipns.find(IpnFilter(payment_id=payment_id), limit=1000)
            flagged = await uow.flags.find(limit=100, payment_id=payment_id)
        return PaymentDetail(found[0], history[::-1], flagged)


class ReadFlag(_Read):
    async def __call__(self, flag_id: int) -> FlagDetail | None:
        async with self.unit_of_work() as uow:
            flag = await uow.flags.load(flag_id)
            if flag is None:
                return None
            order = await uow.orders.load(flag.order_id) if flag.order_id else None
            owed = await uow.refunds.find(limit=10, order_id=flag.order_id)
        return FlagDetail(
            flag, order.status if order else None, [r for r in owed if r.flag_id == flag_id]
        )


class ReadTimeline(_Read):
    async def __call__(self, order_id: UUID) -> list[TimelineItem]:
        async with self.unit_of_work() as uow:
            order = await uow.orders.load(order_id)
            ipns = await uow.ipns.of_order(order_id)
            flagged = await uow.flags.find(limit=100, order_id=order_id)
            return timeline_of(order, ipns, flagged)
