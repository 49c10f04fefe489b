"""What the admin shows: the other services' internal API answers, validated, and the
views assembled from them (an order list, an order's merged timeline)."""

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, JsonValue


class Upstream(BaseModel):
    """A document from another service's internal API; fields we do not show are ignored
    so that a service may add some without breaking the admin."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class OrderSummary(Upstream):
    """One order of payments' `GET /internal/orders`."""

    order_id: UUID
    email: str
    status: str
    total: Decimal
    currency: str
    created_at: datetime
    payment_status: str | None = None
    invoice_url: str | None = None


class OrderPage(Upstream):
    """A page of payments' orders; `cursor` (created_at and id of the last) fetches the next."""

    items: list[OrderSummary]
    cursor: str | None = None


class OrderDetail(OrderSummary):
    """Payments' `GET /internal/orders/{id}`: the summary and its lines."""

    lines: list[dict[str, JsonValue]] = Field(default_factory=list)


class Saga(Upstream):
    order_id: UUID
    state: str
    failure_stage: str | None = None
    failure_reason: str | None = None
    updated_at: datetime | None = None


class SagaPage(Upstream):
    items: list[Saga]


class TimelineItem(Upstream):
    at: datetime
    kind: str
    summary: str
    data: dict[str, JsonValue] = Field(default_factory=dict)


class Timeline(Upstream):
    items: list[TimelineItem]


class FlagSummary(Upstream):
    """A flag of payments' `GET /internal/flags`: a late or odd payment an admin decides."""

    id: int
    kind: str
    status: str
    detail: str = ""
    order_id: UUID | None = None
    created_at: datetime | None = None


class FlagPage(Upstream):
    items: list[FlagSummary]


class Flag(FlagSummary):
    """Payments' `GET /internal/flags/{id}`: the flag, its order's status, the decisions
    still open to it (none once resolved) and the refunds it led to."""

    payment_id: str | None = None
    ipn_id: int | None = None
    data: dict[str, JsonValue] = Field(default_factory=dict)
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    note: str | None = None
    order_status: str | None = None
    decisions: list[str] = Field(default_factory=list)
    refunds: list[dict[str, JsonValue]] = Field(default_factory=list)


class Event(BaseModel):
    """One line of an order's merged timeline, tagged with the service that reported it."""

    model_config = ConfigDict(frozen=True)

    service: str
    at: datetime
    kind: str
    summary: str
    data: dict[str, JsonValue]


class OrderRow(BaseModel):
    """One line of the admin's order list."""

    model_config = ConfigDict(frozen=True)

    order_id: UUID
    email: str
    total: Decimal
    currency: str
    created_at: datetime
    payment_status: str | None
    fulfillment_state: str | None


def order_rows(orders: list[OrderSummary], sagas: list[Saga]) -> list[OrderRow]:
    """Each order with its saga's state (None where fulfillment has none, or was down)."""
    states = {saga.order_id: saga.state for saga in sagas}
    return [
        OrderRow(
            order_id=order.order_id,
            email=order.email,
            total=order.total,
            currency=order.currency,
            created_at=order.created_at,
            payment_status=order.payment_status,
            fulfillment_state=states.get(order.order_id),
        )
        for order in orders
    ]


def merge_timelines(timelines: dict[str, list[TimelineItem]]) -> list[Event]:
    """Every service's items in one list, oldest first; ties keep the services' order."""
    events = [
        Event(service=service, at=item.at, kind=item.kind, summary=item.summary, data=item.data)
        for service, items in timelines.items()
        for item in items
    ]
    return sorted(events, key=lambda event: event.at)
