"""The two order views: a page of orders with their fulfillment state, and one order
with the timeline every service knows of it: payments' IPNs and flags, the gateway's
reservation, fulfillment's saga transitions (every one the saga recorded, including the
steps it does not announce on the bus), delivery's keys, emails and key events; and the
admin's projection of the order's refund story, which no service keeps whole.

Each view asks the services concurrently and answers with whatever came back; a
service that did not answer is named in `partial`.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

from bitloot_admin.adapters.upstream import SERVICES, NotFound, Unavailable, UpstreamClient
from bitloot_admin.domain.listings import items_of
from bitloot_admin.domain.refunds import Activity, activity_in_words
from bitloot_admin.domain.views import (
    Event,
    FlagSummary,
    OrderDetail,
    OrderPage,
    OrderRow,
    OrderSummary,
    Saga,
    SagaPage,
    Timeline,
    TimelineItem,
    customer_status_of,
    merge_timelines,
    order_rows,
)
from bitloot_admin.handlers.flags import open_flags
from bitloot_admin.handlers.ports import AdminWork, UsesUpstream
from bitloot_admin.handlers.projection import activity_of
from bitloot_contracts.order_filters import ORDER_FILTERS
from bitloot_contracts.topics import ADMIN, DELIVERY, FULFILLMENT, KEYS_REVOKED, PAYMENTS


@dataclass(frozen=True)
class OrderFilter:
    """Orders wanted: one by id, or a page by e-mail, day of creation, the statuses the
    list shows (`payment`, `fulfilment`, `refund`, `customer`) and a `preset`
    (`bitloot_contracts.order_filters`), all of which payments filters on; `status` is
    the order's own status (kept for API clients). `cursor` is payments' stable cursor of
    the previous page."""

    limit: int
    email: str | None = None
    status: str | None = None
    created_on: date | None = None
    cursor: str | None = None
    order_id: UUID | None = None
    payment: str | None = None
    fulfilment: str | None = None
    refund: str | None = None
    customer: str | None = None
    preset: str | None = None

    def params(self) -> dict[str, str | list[str]]:
        params: dict[str, str | list[str]] = {"limit": str(self.limit)}
        for name in ("email", "status", "cursor", *_SHOWN):
            if (value := getattr(self, name)) is not None:
                params[name] = value
        if self.created_on is not None and self.cursor is None:
            # Payments pages newest first: start at the end of the day, stop at its start.
            params["before"] = _day_start(self.created_on + timedelta(days=1)).isoformat()
        return params

    def query(self) -> dict[str, str]:
        """The filter as the admin's own query parameters (for page links)."""
        values = {
            "limit": str(self.limit),
            "email": self.email,
            "status": self.status,
            "date": self.created_on.isoformat() if self.created_on else None,
            "order_id": str(self.order_id) if self.order_id else None,
            **{name: getattr(self, name) for name in _SHOWN},
        }
        return {name: value for name, value in values.items() if value}


# The filters payments answers for the statuses the list shows, and its presets.
_SHOWN = tuple(ORDER_FILTERS)


@dataclass
class OrderList:
    items: list[OrderRow] = field(default_factory=list)
    next: str | None = None
    partial: list[str] = field(default_factory=list)


@dataclass
class OrderView:
    order: OrderDetail | None
    timeline: list[Event]
    partial: list[str]
    # Fulfillment's saga: where the order is now (payments only knows it was paid).
    saga: Saga | None = None
    # Payments' flags of the order that wait for an admin's decision.
    flags: list[FlagSummary] = field(default_factory=list)
    # Where the order stands for the customer: payments' word, the same everywhere.
    customer_status: str | None = None
    # The services holding a parked message of the order (not yet replayed).
    parked: list[str] = field(default_factory=list)


class OrderNotFound(LookupError):
    def __init__(self, order_id: UUID) -> None:
        super().__init__(f"Payments knows no order {order_id}.")


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


async def _payments_page(upstream: UpstreamClient, wanted: OrderFilter) -> OrderPage | None:
    """The page of payments' orders `wanted` names; None if payments did not answer."""
    if wanted.order_id is not None:
        one = await upstream.get(PAYMENTS, f"/internal/orders/{wanted.order_id}", OrderSummary)
        if isinstance(one, Unavailable):
            return None
        return OrderPage(items=[one] if isinstance(one, OrderSummary) else [])
    page = await upstream.get(PAYMENTS, "/internal/orders", OrderPage, wanted.params())
    if not isinstance(page, OrderPage):
        return None
    if wanted.created_on is None:
        return page
    start = _day_start(wanted.created_on)
    same_day = [order for order in page.items if order.created_at >= start]
    # An order from an earlier day means the day is exhausted: no next page.
    more = page.cursor if len(same_day) == len(page.items) else None
    return OrderPage(items=same_day, cursor=more)


class ListOrders(UsesUpstream):
    """A page of payments' orders, each with its fulfillment saga's state."""

    async def __call__(self, order_filter: OrderFilter) -> OrderList:
        page = await _payments_page(self._upstream, order_filter)
        if page is None:
            return OrderList(partial=[PAYMENTS])
        if not page.items:
            return OrderList(next=page.cursor)
        ids: list[str] = [str(order.order_id) for order in page.items]
        sagas = await self._upstream.get(
            FULFILLMENT, "/internal/sagas", SagaPage, {"order_id": ids}
        )
        if isinstance(sagas, SagaPage):
            return OrderList(order_rows(page.items, sagas.items), page.cursor)
        return OrderList(order_rows(page.items, []), page.cursor, [FULFILLMENT])


class ShowOrder:
    """The order as payments has it, its open flags and every timeline, fetched at the
    same time."""

    def __init__(self, upstream: UpstreamClient, work: Callable[[], AdminWork]) -> None:
        self._upstream = upstream
        self._work = work

    async def __call__(self, order_id: UUID) -> OrderView:
        upstream = self._upstream
        order, flags, sagas, projected, timelines, parked = await asyncio.gather(
            upstream.get(PAYMENTS, f"/internal/orders/{order_id}", OrderDetail),
            open_flags(upstream, order_id),
            upstream.get(FULFILLMENT, "/internal/sagas", SagaPage, {"order_id": [str(order_id)]}),
            activity_of(self._work, order_id),
            _timelines(upstream, order_id),
            _parked(upstream, order_id),
        )
        if isinstance(order, NotFound):
            raise OrderNotFound(order_id)
        # The saga too: without it the page cannot tell a failed order from a fresh one.
        answers = [order, flags, sagas, *timelines]
        failed = [answer.service for answer in answers if isinstance(answer, Unavailable)]
        partial = list(dict.fromkeys(failed))
        items = {
            service: answer.items
            for service, answer in zip(SERVICES, timelines, strict=True)
            if isinstance(answer, Timeline)
        }
        items[ADMIN] = [_item(row) for row in projected if not _told(row, items)]
        saga = sagas.items[0] if isinstance(sagas, SagaPage) and sagas.items else None
        found = order if isinstance(order, OrderDetail) else None
        return OrderView(
            found,
            merge_timelines(items),
            partial,
            saga,
            flags if isinstance(flags, list) else [],
            customer_status_of(found, saga) if found else None,
            parked,
        )


async def _parked(upstream: UpstreamClient, order_id: UUID) -> list[str]:
    """The services whose parked messages (the newest hundred each) include one of the
    order's: something an operator must replay for the order to go on."""
    answers = await asyncio.gather(
        *(upstream.get_document(s, "/internal/dead-letters", {"limit": "100"}) for s in SERVICES)
    )
    return [
        service
        for service, answer in zip(SERVICES, answers, strict=True)
        if isinstance(answer, dict)
        and any(item.get("order_id") == str(order_id) for item in items_of(answer) or [])
    ]


async def _timelines(
    upstream: UpstreamClient, order_id: UUID
) -> list[Timeline | Unavailable | NotFound]:
    path = f"/internal/orders/{order_id}/timeline"
    return list(
        await asyncio.gather(*(upstream.get(service, path, Timeline) for service in SERVICES))
    )


def _told(row: Activity, items: dict[str, list[TimelineItem]]) -> bool:
    """Whether a service's own timeline already has the fact `row` projected: delivery
    lists the revocation among its key events (`key_revoked`)."""
    return row.topic == KEYS_REVOKED and any(
        item.kind == "key_revoked" for item in items.get(DELIVERY, [])
    )


def _item(row: Activity) -> TimelineItem:
    return TimelineItem(
        at=row.at,
        kind=row.topic.replace(".", "_"),
        summary=activity_in_words(row.topic, row.status),
        data={"event_id": str(row.event_id), "status": row.status},
    )
