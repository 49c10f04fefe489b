"""Sagas of the domain tests, built by the events that lead to each state."""

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TypeVar
from uuid import uuid4

from fulfillment_support import refund_report

from bitloot_contracts.customer import customer_status_of_saga
from bitloot_contracts.events import (
    Event,
    OrderStatusChanged,
    PaymentFinished,
    RefundStatus,
    RefundStatusChanged,
)
from bitloot_contracts.events.payment import OrderLine
from bitloot_fulfillment.domain.saga import TERMINAL, OrderSaga
from bitloot_fulfillment.domain.timers import TimerPolicy

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
POLICY = TimerPolicy(
    first_poll=timedelta(seconds=60),
    poll_factor=2.0,
    max_poll_interval=timedelta(minutes=10),
    max_age=timedelta(minutes=30),
)


def payment_finished() -> PaymentFinished:
    return PaymentFinished(
        order_id=uuid4(),
        payment_id="np-1",
        amount=Decimal("19.99"),
        currency="usdttrc20",
        customer_email="buyer@example.com",
        lines=(
            OrderLine(sku="g-1", kinguin_product_id="5c9b", qty=2, max_unit_price=Decimal("9")),
        ),
    )


def paid() -> OrderSaga:
    return OrderSaga.start(payment_finished(), POLICY)


# The happy path, one step per state after `reserving`.
HAPPY: dict[str, Callable[[OrderSaga], None]] = {
    "reserved": lambda s: s.reservation_created("K-1", "processing"),
    "keys_requested": lambda s: s.kinguin_status_changed("K-1", "completed", T0),
    "delivering": lambda s: s.keys_delivered(),
    "fulfilled": lambda s: s.delivery_completed(2),
}


def saga_in(state: str) -> OrderSaga:
    """A saga brought to `state` by the events that really lead there."""
    saga = paid()
    if state == "failed":
        saga.reservation_failed("out_of_stock", "none left")
        return saga
    target = "fulfilled" if state == "refunded" else state
    for apply in HAPPY.values():
        if saga.state == target:
            break
        apply(saga)
    if state == "refunded":
        saga.kinguin_status_changed("K-1", "refunded", T0 + timedelta(hours=1))
    assert saga.state == state
    return saga


def commands(saga: OrderSaga) -> list[str]:
    """What the saga asked of others or announced, status changes left out."""
    return [type(e).__name__ for e in saga.pending if not isinstance(e, OrderStatusChanged)]


def states(saga: OrderSaga) -> list[str]:
    """The states the saga moved to since its last store: its timeline, published or not."""
    return [change.status for change in saga.transitions]


def announced(saga: OrderSaga) -> list[str]:
    """The states it announced on the bus since its last store (`order.status_changed`)."""
    return [e.status for e in saga.pending if isinstance(e, OrderStatusChanged)]


def consumers_are_told_what_they_act_on(saga: OrderSaga) -> None:
    """What a saga announced since it started is what `order.status_changed`'s consumers
    need, no more: the last announcement tells the customer status the saga's state
    tells (an ended order: that very state), and each announcement after the first
    changes the customer status or ends the order. Each is one of its transitions."""
    told = of_type(saga, OrderStatusChanged)
    last = told[-1].status
    assert last == saga.state or saga.state not in TERMINAL, (last, saga.state)
    assert customer_status_of_saga(last) == customer_status_of_saga(saga.state), (last, saga.state)
    for before, after in itertools.pairwise(told):
        changed = customer_status_of_saga(before.status) != customer_status_of_saga(after.status)
        assert changed or after.status in TERMINAL, (before.status, after.status)
    assert all(any(event is change for change in saga.transitions) for event in told)


def stored(saga: OrderSaga) -> None:
    """Forget what the saga did so far, as storing its step does (its timers aside)."""
    saga.pending.clear()
    saga.transitions.clear()


E = TypeVar("E", bound=Event)


def of_type(saga: OrderSaga, kind: type[E]) -> list[E]:
    return [e for e in saga.pending if isinstance(e, kind)]


def refund(
    saga: OrderSaga, status: RefundStatus, at: datetime, transaction_id: str | None = None
) -> RefundStatusChanged:
    """Payments' report that the order's refund is `status`, made at `at`."""
    return refund_report(saga.order_id, status, at, transaction_id=transaction_id)
