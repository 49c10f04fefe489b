"""The saga on its own: every order of arrival, duplicates, and failures."""

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest

from bitloot_contracts.events import (
    KeysRequested,
    OrderFailed,
    OrderFulfilled,
    OrderStatusChanged,
    PaymentFinished,
    ReservationRequested,
)
from bitloot_contracts.events.payment import OrderLine
from bitloot_fulfillment.domain.saga import OrderSaga

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def paid() -> OrderSaga:
    payment = PaymentFinished(
        order_id=uuid4(),
        payment_id="np-1",
        amount=Decimal("19.99"),
        currency="usdttrc20",
        customer_email="buyer@example.com",
        lines=(
            OrderLine(sku="g-1", kinguin_product_id="5c9b", qty=2, max_unit_price=Decimal("9")),
        ),
    )
    return OrderSaga.start(payment)


def kinds(saga: OrderSaga) -> list[str]:
    return [type(e).__name__ for e in saga.pending if not isinstance(e, OrderStatusChanged)]


def states(saga: OrderSaga) -> list[str]:
    return [e.status for e in saga.pending if isinstance(e, OrderStatusChanged)]


def test_a_paid_order_requests_its_reservation_with_the_lines_and_price_caps() -> None:
    saga = paid()
    assert saga.state == "reserving"
    [request] = [e for e in saga.pending if isinstance(e, ReservationRequested)]
    assert request.lines[0].kinguin_product_id == "5c9b"
    assert request.lines[0].qty == 2
    assert request.lines[0].max_unit_price == Decimal("9")
    assert states(saga) == ["paid", "reserving"]


STEPS: dict[str, Callable[[OrderSaga], None]] = {
    "created": lambda s: s.reservation_created("K-1", "processing"),
    "completed": lambda s: s.kinguin_status_changed("K-1", "completed", T0),
}


@pytest.mark.parametrize("order", list(itertools.permutations(STEPS)))
@pytest.mark.parametrize("repeats", [1, 2])
def test_keys_are_requested_once_whatever_the_order_or_repetition(
    order: tuple[str, ...], repeats: int
) -> None:
    saga = paid()
    for name in order:
        for _ in range(repeats):
            STEPS[name](saga)
    [request] = [e for e in saga.pending if isinstance(e, KeysRequested)]
    assert request.kinguin_order_id == "K-1"
    assert request.customer_email == "buyer@example.com"
    assert saga.state == "keys_requested"


def test_delivery_completed_fulfills_the_order_once() -> None:
    saga = paid()
    STEPS["created"](saga)
    STEPS["completed"](saga)
    saga.delivery_completed(2)
    saga.delivery_completed(2)
    assert saga.state == "fulfilled"
    assert kinds(saga).count("OrderFulfilled") == 1
    [done] = [e for e in saga.pending if isinstance(e, OrderFulfilled)]
    assert done.key_count == 2
    assert states(saga)[-1] == "fulfilled"


def test_an_older_kinguin_status_does_not_override_a_newer_one() -> None:
    saga = paid()
    saga.reservation_created("K-1", "processing")
    saga.kinguin_status_changed("K-1", "canceled", T0)
    saga.kinguin_status_changed("K-1", "completed", T0 - timedelta(minutes=1))
    assert saga.state == "failed"
    assert "KeysRequested" not in kinds(saga)


def test_reservation_failure_fails_the_order_with_its_reason_once() -> None:
    saga = paid()
    saga.reservation_failed("out_of_stock", "Kinguin has no keys for 5c9b")
    saga.reservation_failed("out_of_stock", "Kinguin has no keys for 5c9b")
    [failure] = [e for e in saga.pending if isinstance(e, OrderFailed)]
    assert (failure.stage, failure.reason) == (
        "reservation",
        "out_of_stock: Kinguin has no keys for 5c9b",
    )
    assert saga.state == "failed"
    assert saga.failure_stage == "reservation"


@pytest.mark.parametrize("status", ["canceled", "refunded"])
def test_kinguin_cancelling_before_or_after_confirmation_fails_the_order(status: str) -> None:
    early, late = paid(), paid()
    early.kinguin_status_changed("K-1", status, T0)  # type: ignore[arg-type]
    late.reservation_created("K-1", "processing")
    late.kinguin_status_changed("K-1", status, T0)  # type: ignore[arg-type]
    for saga in (early, late):
        assert saga.state == "failed"
        assert saga.failure_stage == "kinguin"


def test_nothing_moves_a_fulfilled_order() -> None:
    saga = paid()
    STEPS["created"](saga)
    STEPS["completed"](saga)
    saga.delivery_completed(1)
    before = list(saga.pending)
    saga.delivery_failed("smtp_down", "late failure")
    saga.kinguin_status_changed("K-1", "refunded", T0 + timedelta(hours=1))
    saga.reservation_created("K-2", "completed")
    assert saga.state == "fulfilled"
    assert saga.pending == before
