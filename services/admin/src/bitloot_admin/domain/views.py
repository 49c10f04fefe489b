"""What the admin shows: the other services' internal API answers, validated, and the
views assembled from them (an order list, an order's merged timeline)."""

from datetime import datetime
from decimal import Decimal
from typing import Final, cast, get_args
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from bitloot_admin.domain.refunds import REFUND_STATUSES
from bitloot_contracts.customer import customer_status_of_order
from bitloot_contracts.events.order import OrderState
from bitloot_contracts.events.refund import RefundStatus

ORDER_STATES: Final[tuple[str, ...]] = get_args(OrderState)


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
    # Where the order stands for the customer, as payments computes it (one status
    # everywhere); None from a payments that does not say.
    customer_status: str | None = None
    # The saga's state as payments recorded it (what the list's fulfilment filter
    # matches) and the status of the order's newest refund.
    fulfilment_state: str | None = None
    refund_status: str | None = None


class OrderPage(Upstream):
    """A page of payments' orders; `cursor` (created_at and id of the last) fetches the next."""

    items: list[OrderSummary]
    cursor: str | None = None


class OrderDetail(OrderSummary):
    """Payments' `GET /internal/orders/{id}`: the summary and its lines."""

    lines: list[dict[str, JsonValue]] = Field(default_factory=list)
    refunds: list[dict[str, JsonValue]] = Field(default_factory=list)


class Saga(Upstream):
    order_id: UUID
    state: str
    failure_stage: str | None = None
    failure_reason: str | None = None
    updated_at: datetime | None = None
    # False once delivery said the key email may not have reached the customer.
    email_confirmed: bool | None = None


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


class Refund(Upstream):
    """A refund of payments' `GET /internal/refunds`: money owed back, why, and where
    it stands (see bitloot_contracts.events.refund)."""

    id: int
    order_id: UUID
    status: str
    reason: str
    amount: Decimal
    currency: str
    cause: str | None = None
    payout_address: str | None = None
    payout_extra_id: str | None = None
    claimed_at: datetime | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    transaction_id: str | None = None
    error: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    flag_id: int | None = None
    payment_id: str | None = None
    requested_by: str | None = None
    note: str | None = None
    customer_status: str | None = None


class RefundPage(Upstream):
    """A page of refunds, newest first; `next` (the last id) fetches the next page."""

    items: list[Refund]
    next: int | None = None


class RefundDetail(Refund):
    """Payments' `GET /internal/refunds/{id}`: the refund and its payout attempts."""

    payouts: list[dict[str, JsonValue]] = Field(default_factory=list)


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
    customer_status: str | None = None
    # The saga's own step where it is finer than what payments recorded (an order stays
    # `reserving` for payments while its keys are bought and sent).
    saga_step: str | None = None
    refund_status: str | None = None


def order_rows(orders: list[OrderSummary], sagas: list[Saga]) -> list[OrderRow]:
    """Each order with its fulfilment state (as payments recorded it, which the list's
    filter matches; the saga's where payments says none) and the saga's finer step (None
    where fulfillment has no saga, or was down), its newest refund's status, and its
    customer status: payments' where it says one, else the saga's in customer words."""
    states = {saga.order_id: saga.state for saga in sagas}
    rows = []
    for order in orders:
        step = states.get(order.order_id)
        recorded = order.fulfilment_state or step
        rows.append(
            OrderRow(
                # The summary's fields of the same name; a row ignores the others.
                **order.model_dump(exclude={"customer_status"}),
                fulfillment_state=recorded,
                customer_status=order.customer_status
                or customer_status_of_order(_saga_state(step), None),
                saga_step=step if step != recorded else None,
            )
        )
    return rows


def _saga_state(state: str | None) -> OrderState | None:
    """`state` as the contracts name saga states; None for one they do not know."""
    return cast(OrderState, state) if state in ORDER_STATES else None


def customer_status_of(order: OrderDetail, saga: Saga | None) -> str | None:
    """The order's customer status: payments' (one status everywhere), else computed
    from its parts as payments would (its newest refund that speaks, then the saga)."""
    if order.customer_status is not None:
        return order.customer_status
    known = [r for r in order.refunds if r.get("status") in REFUND_STATUSES]
    newest = max(known, key=lambda r: str(r.get("id")).zfill(20), default=None)
    refund = cast(RefundStatus, newest["status"]) if newest else None
    return customer_status_of_order(_saga_state(saga.state if saga else None), refund)


def merge_timelines(timelines: dict[str, list[TimelineItem]]) -> list[Event]:
    """Every service's items in one list, oldest first; ties keep the services' order."""
    events = [
        Event(service=service, at=item.at, kind=item.kind, summary=item.summary, data=item.data)
        for service, items in timelines.items()
        for item in items
    ]
    return sorted(events, key=lambda event: event.at)
