"""The saga's durable timers (polls growing to a cap, the deadline) and the admin retry."""

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from fulfillment_sagas import POLICY, T0, commands, of_type, paid, saga_in, states, stored

from bitloot_contracts.events import (
    KeysRequested,
    OrderDelayed,
    OrderFailed,
    OrderStatusChanged,
    ReservationPoll,
    ReservationRequested,
)
from bitloot_fulfillment.domain.saga import OrderSaga, RetryRefused
from bitloot_fulfillment.domain.timers import DEADLINE, POLL, Schedule


def test_poll_delays_grow_by_the_factor_up_to_the_cap() -> None:
    delays = [POLICY.poll_delay(attempt).total_seconds() for attempt in range(1, 8)]
    assert delays == [60, 120, 240, 480, 600, 600, 600]


def test_a_paid_order_sets_its_first_poll_and_its_deadline() -> None:
    saga = paid()
    assert saga.timers.scheduled == [
        Schedule(POLL, timedelta(seconds=60), 1),
        Schedule(DEADLINE, timedelta(minutes=30), 1),
    ]


def test_a_due_poll_asks_the_gateway_and_sets_the_next_longer_one() -> None:
    saga = saga_in("reserved")
    saga.timers.clear()
    saga.timer_fired(POLL, 1, POLICY)
    [poll] = of_type(saga, ReservationPoll)
    assert (poll.kinguin_order_id, poll.attempt) == ("K-1", 1)
    assert saga.timers.scheduled == [Schedule(POLL, timedelta(seconds=120), 2)]


def test_a_poll_before_the_reservation_is_confirmed_looks_up_by_our_order_id() -> None:
    saga = paid()
    saga.timer_fired(POLL, 1, POLICY)
    [poll] = of_type(saga, ReservationPoll)
    assert poll.kinguin_order_id is None


def test_the_same_poll_attempt_firing_twice_polls_once() -> None:
    saga = paid()
    saga.timer_fired(POLL, 1, POLICY)
    saga.timer_fired(POLL, 1, POLICY)
    assert commands(saga).count("ReservationPoll") == 1


def test_requesting_the_keys_stops_polling_and_the_end_drops_every_timer() -> None:
    saga = saga_in("keys_requested")
    assert POLL in saga.timers.cancelled
    saga.timer_fired(POLL, 1, POLICY)
    assert "ReservationPoll" not in commands(saga)
    fulfilled = saga_in("fulfilled")
    assert fulfilled.timers.cancelled == {POLL, DEADLINE}


@pytest.mark.parametrize("state", ["reserving", "keys_requested"])
def test_the_deadline_fails_an_order_still_waiting_with_stage_deadline(state: str) -> None:
    saga = saga_in(state)
    saga.timer_fired(DEADLINE, 1, POLICY)
    [failure] = of_type(saga, OrderFailed)
    assert failure.stage == "deadline"
    assert state in failure.reason


def test_the_deadline_leaves_an_order_whose_keys_are_with_delivery_alone() -> None:
    saga = saga_in("delivering")
    saga.timer_fired(DEADLINE, 1, POLICY)
    assert saga.state == "delivering"


def test_retrying_a_delivery_failure_fetches_the_keys_again_and_buys_nothing() -> None:
    saga = saga_in("delivering")
    saga.delivery_failed("s3_down", "store refused")
    stored(saga)
    saga.retry(POLICY)
    assert saga.state == "keys_requested"
    assert commands(saga) == ["KeysRequested"]
    [request] = of_type(saga, KeysRequested)
    assert request.kinguin_order_id == "K-1"
    assert states(saga) == ["reserved", "keys_requested"]
    assert saga.failure_stage is None


def test_retrying_a_reservation_kinguin_never_saw_asks_again_for_the_same_order() -> None:
    saga = paid()
    [first] = of_type(saga, ReservationRequested)
    saga.reservation_failed("kinguin_unavailable", "503 after retries")
    stored(saga)
    saga.retry(POLICY)
    [again] = of_type(saga, ReservationRequested)
    assert (again.order_id, again.lines) == (first.order_id, first.lines)
    assert saga.state == "reserving"
    assert [s.kind for s in saga.timers.scheduled] == [POLL, DEADLINE]


def test_the_deadline_never_fails_a_bought_order_kinguin_still_processes() -> None:
    saga = saga_in("reserved")
    stored(saga)
    saga.timer_fired(POLL, 1, POLICY)
    saga.timer_fired(DEADLINE, 1, POLICY)
    assert saga.state == "reserved"
    assert of_type(saga, OrderFailed) == []
    [delayed] = of_type(saga, OrderDelayed)
    assert (delayed.customer_email, delayed.is_preorder, delayed.release_date) == (
        "buyer@example.com",
        False,
        None,
    )
    # Polling goes on, capped, and the customer is told once only.
    for attempt in range(2, 9):
        saga.timer_fired(POLL, attempt, POLICY)
    saga.timer_fired(DEADLINE, 1, POLICY)
    assert commands(saga).count("OrderDelayed") == 1
    assert commands(saga).count("ReservationPoll") == 8
    assert [t for t in saga.timers.scheduled if t.kind == POLL] == [
        Schedule(POLL, timedelta(minutes=10), 9)
    ]


def test_a_preorder_past_the_deadline_tells_the_release_date_and_is_delivered_on_completion() -> (
    None
):
    saga = paid()
    saga.reservation_created("K-1", "processing", is_preorder=True, release_date=date(2027, 3, 1))
    saga.timer_fired(DEADLINE, 1, POLICY)
    [delayed] = of_type(saga, OrderDelayed)
    assert (delayed.is_preorder, delayed.release_date) == (True, date(2027, 3, 1))
    # The timeline says why it waits.
    [why] = [e.reason for e in saga.transitions if e.status == "reserved"][-1:]
    assert "preorder, released on 2027-03-01" in (why or "")
    saga.kinguin_status_changed("K-1", "completed", T0 + timedelta(days=90))
    assert saga.state == "keys_requested"
    assert commands(saga).count("KeysRequested") == 1


def test_a_completion_after_a_deadline_failure_delivers_the_keys_with_a_reason() -> None:
    saga = paid()
    saga.timer_fired(DEADLINE, 1, POLICY)  # Kinguin never answered in time
    assert saga.state == "failed"
    stored(saga)
    saga.reservation_created("K-1", "processing")
    assert saga.state == "failed"
    saga.kinguin_status_changed("K-1", "completed", T0)
    assert states(saga) == ["reserved", "keys_requested"]
    [revived, _] = saga.transitions
    assert "after its deadline failure" in (revived.reason or "")
    # The customer is told: failed, then delivering again (keys_requested changes nothing).
    assert of_type(saga, OrderStatusChanged) == [revived]
    assert commands(saga) == ["KeysRequested"]


def test_a_completion_after_a_delivery_failure_changes_nothing() -> None:
    saga = saga_in("keys_requested")
    saga.delivery_failed("s3_down", "store refused")
    stored(saga)
    saga.kinguin_status_changed("K-1", "completed", T0 + timedelta(days=2))
    assert saga.state == "failed"
    assert commands(saga) == []


def test_retrying_a_stuck_processing_order_polls_again_and_buys_nothing() -> None:
    saga = saga_in("reserved")
    saga.timer_fired(DEADLINE, 1, POLICY)
    stored(saga)
    saga.retry(POLICY, stuck=True)
    assert saga.state == "reserved"
    assert commands(saga) == []
    assert {s.kind for s in saga.timers.scheduled} == {POLL, DEADLINE}


def test_retrying_an_order_kinguin_canceled_asks_the_gateway_for_a_replacement() -> None:
    saga = saga_in("reserved")
    saga.kinguin_status_changed("K-1", "canceled", T0 + timedelta(days=1))
    assert saga.failure_stage == "kinguin"
    stored(saga)
    saga.retry(POLICY)
    assert commands(saga) == ["ReservationRequested"]
    assert states(saga) == ["paid", "reserving"]
    assert (saga.kinguin_order_id, saga.kinguin_status, saga.reservation_confirmed) == (
        None,
        None,
        False,
    )
    # The replacement's news is followed; the canceled order's is not.
    saga.reservation_created("K-2", "processing")
    saga.kinguin_status_changed("K-1", "refunded", T0 + timedelta(days=2))
    saga.kinguin_status_changed("K-2", "completed", T0 + timedelta(days=2))
    assert saga.state == "keys_requested"
    [keys] = of_type(saga, KeysRequested)
    assert keys.kinguin_order_id == "K-2"


def test_retrying_a_stuck_reservation_asks_the_gateway_again() -> None:
    saga = paid()
    stored(saga)
    saga.retry(POLICY, stuck=True)
    assert commands(saga) == ["ReservationRequested"]
    assert saga.state == "reserving"


def _unconfirmed_then_deadline() -> OrderSaga:
    saga = paid()
    saga.kinguin_status_changed("K-1", "processing", T0)
    saga.timer_fired(DEADLINE, 1, POLICY)
    return saga


def test_retrying_an_order_kinguin_knows_but_never_confirmed_asks_the_gateway_again() -> None:
    # The gateway looks every external id up first: it adopts K-1 rather than buy.
    saga = _unconfirmed_then_deadline()
    stored(saga)
    saga.retry(POLICY)
    assert commands(saga) == ["ReservationRequested"]


def _gone_after_keys_left() -> OrderSaga:
    saga = saga_in("delivering")
    saga.delivery_failed("s3_down", "store refused")
    saga.kinguin_status_changed("K-1", "refunded", T0 + timedelta(days=1))
    return saga


@pytest.mark.parametrize(
    ("prepare", "code"),
    [
        (lambda: saga_in("fulfilled"), "not_failed"),
        (lambda: saga_in("refunded"), "not_failed"),
        (lambda: saga_in("reserving"), "not_stuck"),
        (lambda: saga_in("reserved"), "not_stuck"),
        (_gone_after_keys_left, "kinguin_order_gone"),
    ],
)
def test_a_retry_that_could_buy_twice_or_makes_no_sense_is_refused(
    prepare: Callable[[], OrderSaga], code: str
) -> None:
    saga = prepare()
    before = (saga.state, len(saga.pending))
    with pytest.raises(RetryRefused) as refused:
        saga.retry(POLICY)
    assert refused.value.code == code
    assert (saga.state, len(saga.pending)) == before


def test_a_stuck_order_that_already_ended_is_still_refused() -> None:
    saga = saga_in("fulfilled")
    with pytest.raises(RetryRefused) as refused:
        saga.retry(POLICY, stuck=True)
    assert refused.value.code == "not_failed"


def test_a_reservation_confirmed_completed_after_the_deadline_delivers_without_a_retry() -> None:
    saga = paid()
    saga.timer_fired(DEADLINE, 1, POLICY)
    stored(saga)
    saga.reservation_created("K-1", "completed")
    assert commands(saga) == ["KeysRequested"]
    assert saga.state == "keys_requested"
