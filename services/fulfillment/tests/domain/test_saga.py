"""The saga on its own: every transition, every order of arrival, duplicates, failures."""

import itertools
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from fulfillment_sagas import (
    HAPPY,
    POLICY,
    T0,
    commands,
    consumers_are_told_what_they_act_on,
    of_type,
    paid,
    saga_in,
    states,
)

from bitloot_contracts.events import (
    KeysRequested,
    OrderFailed,
    OrderFulfilled,
    OrderStatusChanged,
    ReservationRequested,
)
from bitloot_fulfillment.domain.saga import OrderSaga
from bitloot_fulfillment.domain.timers import DEADLINE, POLL

LATER = T0 + timedelta(days=1)  # newer than any Kinguin status a saga_in() saga knows

EVENTS: dict[str, Callable[[OrderSaga], None]] = {
    "reservation.created": lambda s: s.reservation_created("K-1", "processing"),
    "webhook processing": lambda s: s.kinguin_status_changed("K-1", "processing", LATER),
    "webhook completed": lambda s: s.kinguin_status_changed("K-1", "completed", LATER),
    "webhook canceled": lambda s: s.kinguin_status_changed("K-1", "canceled", LATER),
    "webhook refunded": lambda s: s.kinguin_status_changed("K-1", "refunded", LATER),
    "reservation.failed": lambda s: s.reservation_failed("out_of_stock", "none left"),
    "keys.delivered": lambda s: s.keys_delivered(),
    "delivery.completed": lambda s: s.delivery_completed(2),
    "delivery.failed": lambda s: s.delivery_failed("s3_down", "store refused"),
    "poll timer": lambda s: s.timer_fired(POLL, 1, POLICY),
    "deadline timer": lambda s: s.timer_fired(DEADLINE, 1, POLICY),
}

# The state each event leads to from each state, one word per event in EVENTS order.
TRANSITIONS: dict[str, str] = {
    "reserving": "reserved reserving reserving failed failed failed "
    "reserving reserving reserving reserving failed",
    # A bought order Kinguin still processes outlives the deadline (preorders, slow ones).
    "reserved": "reserved reserved keys_requested failed failed failed "
    "reserved reserved reserved reserved reserved",
    "keys_requested": "keys_requested keys_requested keys_requested failed failed failed "
    "delivering fulfilled failed keys_requested failed",
    "delivering": "delivering delivering delivering refunded refunded failed "
    "delivering fulfilled failed delivering delivering",
    "fulfilled": "fulfilled fulfilled fulfilled refunded refunded fulfilled "
    "fulfilled fulfilled fulfilled fulfilled fulfilled",
    # Kinguin completing a failed order delivers it: the customer paid, nothing refunded.
    "failed": "failed failed keys_requested failed failed failed "
    "failed failed failed failed failed",
    "refunded": " ".join(["refunded"] * len(EVENTS)),
}


@pytest.mark.parametrize(
    ("start", "event", "end"),
    [
        (start, event, end)
        for start, ends in TRANSITIONS.items()
        for event, end in zip(EVENTS, ends.split(), strict=True)
    ],
)
def test_every_event_in_every_state_leads_to_the_documented_state(
    start: str, event: str, end: str
) -> None:
    saga = saga_in(start)
    EVENTS[event](saga)
    assert saga.state == end


@pytest.mark.parametrize(("start", "event"), list(itertools.product(TRANSITIONS, [None, *EVENTS])))
def test_every_path_announces_each_change_of_the_customer_status_and_the_end_only(
    start: str, event: str | None
) -> None:
    saga = saga_in(start)
    if event is not None:
        EVENTS[event](saga)
    consumers_are_told_what_they_act_on(saga)


def test_a_paid_order_requests_its_reservation_with_the_lines_and_price_caps() -> None:
    saga = paid()
    assert saga.state == "reserving"
    [request] = of_type(saga, ReservationRequested)
    assert request.lines[0].kinguin_product_id == "5c9b"
    assert request.lines[0].qty == 2
    assert request.lines[0].max_unit_price == Decimal("9")
    assert states(saga) == ["paid", "reserving"]


def test_the_happy_path_passes_every_state_and_announces_fulfilment_once() -> None:
    saga = saga_in("fulfilled")
    assert states(saga) == [
        "paid",
        "reserving",
        "reserved",
        "keys_requested",
        "delivering",
        "fulfilled",
    ]
    assert commands(saga) == ["ReservationRequested", "KeysRequested", "OrderFulfilled"]
    [done] = of_type(saga, OrderFulfilled)
    assert done.key_count == 2


def test_the_happy_path_announces_paid_reserving_and_fulfilled_only() -> None:
    """Reserved, keys_requested and delivering tell the customer "delivering" again,
    and nobody acts on them: they are in the timeline, not on the bus. The previous
    status is the saga's own, announced or not."""
    saga = saga_in("fulfilled")
    told = [(e.previous_status, e.status) for e in of_type(saga, OrderStatusChanged)]
    assert told == [(None, "paid"), ("paid", "reserving"), ("delivering", "fulfilled")]
    timeline = [(change.previous_status, change.status) for change in saga.transitions]
    assert timeline == [
        (None, "paid"),
        ("paid", "reserving"),
        ("reserving", "reserved"),
        ("reserved", "keys_requested"),
        ("keys_requested", "delivering"),
        ("delivering", "fulfilled"),
    ]


@pytest.mark.parametrize("order", list(itertools.permutations(HAPPY)))
@pytest.mark.parametrize("repeats", [1, 2])
def test_keys_are_requested_once_whatever_the_order_or_repetition(
    order: tuple[str, ...], repeats: int
) -> None:
    saga = paid()
    for name in order:
        for _ in range(repeats):
            HAPPY[name](saga)
    [request] = of_type(saga, KeysRequested)
    assert request.kinguin_order_id == "K-1"
    assert request.customer_email == "buyer@example.com"
    assert saga.state == "fulfilled"
    assert states(saga)[2:] == ["reserved", "keys_requested", "delivering", "fulfilled"]


def test_an_older_kinguin_status_does_not_override_a_newer_one() -> None:
    saga = paid()
    saga.reservation_created("K-1", "processing")
    saga.kinguin_status_changed("K-1", "canceled", T0)
    saga.kinguin_status_changed("K-1", "completed", T0 - timedelta(minutes=1))
    assert saga.state == "failed"
    assert "KeysRequested" not in commands(saga)


def test_reservation_failure_fails_the_order_with_its_reason_and_stage_once() -> None:
    saga = paid()
    saga.reservation_failed("out_of_stock", "Kinguin has no keys for 5c9b")
    saga.reservation_failed("out_of_stock", "Kinguin has no keys for 5c9b")
    [failure] = of_type(saga, OrderFailed)
    assert (failure.stage, failure.reason) == (
        "reservation",
        "out_of_stock: Kinguin has no keys for 5c9b",
    )
    assert (saga.failure_stage, saga.failure_reason) == (failure.stage, failure.reason)


@pytest.mark.parametrize("status", ["canceled", "refunded"])
def test_kinguin_cancelling_before_delivery_fails_the_order_at_the_kinguin_stage(
    status: str,
) -> None:
    for start in ("reserving", "reserved", "keys_requested"):
        saga = saga_in(start)
        saga.kinguin_status_changed("K-1", status, LATER)  # type: ignore[arg-type]
        assert (saga.state, saga.failure_stage) == ("failed", "kinguin")
        assert commands(saga).count("OrderFailed") == 1


def test_a_refund_after_delivery_is_flagged_for_admins_not_undone() -> None:
    saga = saga_in("fulfilled")
    saga.kinguin_status_changed("K-1", "refunded", LATER)
    saga.kinguin_status_changed("K-1", "refunded", LATER + timedelta(seconds=1))
    assert saga.state == "refunded"
    assert states(saga)[-2:] == ["fulfilled", "refunded"]
    assert commands(saga).count("OrderFailed") == 0


def test_delivery_failing_after_its_retries_fails_the_order_at_the_delivery_stage() -> None:
    saga = saga_in("delivering")
    saga.delivery_failed("smtp_down", "gave up after 5 attempts")
    [failure] = of_type(saga, OrderFailed)
    assert (failure.stage, failure.reason) == ("delivery", "smtp_down: gave up after 5 attempts")
