"""The saga's durable timers (polls growing to a cap, the deadline) and the admin retry."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from fulfillment_sagas import POLICY, T0, commands, of_type, paid, saga_in, states

from bitloot_contracts.events import (
    KeysRequested,
    OrderFailed,
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


@pytest.mark.parametrize("state", ["reserving", "reserved", "keys_requested"])
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
    saga.pending.clear()
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
    saga.pending.clear()
    saga.retry(POLICY)
    [again] = of_type(saga, ReservationRequested)
    assert (again.order_id, again.lines) == (first.order_id, first.lines)
    assert saga.state == "reserving"
    assert [s.kind for s in saga.timers.scheduled] == [POLL, DEADLINE]


def test_retrying_a_deadline_on_a_processing_order_waits_and_polls_again() -> None:
    saga = saga_in("reserved")
    saga.timer_fired(DEADLINE, 1, POLICY)
    saga.pending.clear()
    saga.retry(POLICY)
    assert saga.state == "reserved"
    assert commands(saga) == []
    assert {s.kind for s in saga.timers.scheduled} == {POLL, DEADLINE}


def _canceled() -> OrderSaga:
    saga = saga_in("reserved")
    saga.kinguin_status_changed("K-1", "canceled", T0)
    return saga


def _unconfirmed_then_deadline() -> OrderSaga:
    saga = paid()
    saga.kinguin_status_changed("K-1", "processing", T0)
    saga.timer_fired(DEADLINE, 1, POLICY)
    return saga


@pytest.mark.parametrize(
    ("prepare", "code"),
    [
        (lambda: saga_in("fulfilled"), "not_failed"),
        (lambda: saga_in("reserving"), "not_failed"),
        (_canceled, "kinguin_order_gone"),
        (_unconfirmed_then_deadline, "reservation_unconfirmed"),
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


def test_a_reservation_confirmed_after_the_deadline_is_retried_without_a_new_purchase() -> None:
    saga = paid()
    saga.timer_fired(DEADLINE, 1, POLICY)
    saga.reservation_created("K-1", "completed")
    saga.pending.clear()
    saga.retry(POLICY)
    assert commands(saga) == ["KeysRequested"]
    assert saga.state == "keys_requested"
