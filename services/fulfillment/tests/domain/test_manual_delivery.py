"""An admin delivers a failed or stuck order's keys by hand (`OrderSaga.delivered_by_hand`)."""

from datetime import timedelta

import pytest
from fulfillment_sagas import POLICY, T0, commands, of_type, refund, saga_in, states, stored

from bitloot_contracts.events import KeysDelivered, OrderStatusChanged, RefundStatus, SealedKeys
from bitloot_fulfillment.domain.saga import NO_KINGUIN_ORDER, ManualDeliveryRefused, OrderSaga
from bitloot_fulfillment.domain.timers import DEADLINE, POLL

SEALED = SealedKeys(suite="s", recipient_key_id="d1", enc="ZW5j", ciphertext="Y2lwaGVy")


def refusal(saga: OrderSaga, key_count: int = 2, *, stuck: bool = False) -> str:
    before = (saga.state, saga.delivered_by_hand_by, len(saga.pending))
    with pytest.raises(ManualDeliveryRefused) as refused:
        saga.delivered_by_hand("admin:ann", key_count, SEALED, stuck=stuck)
    assert (saga.state, saga.delivered_by_hand_by, len(saga.pending)) == before
    return refused.value.code


def test_a_failed_order_hands_the_sealed_keys_to_delivery_and_waits_for_it() -> None:
    saga = saga_in("failed")
    stored(saga)
    saga.delivered_by_hand("admin:ann", 2, SEALED, stuck=False)
    [delivered] = of_type(saga, KeysDelivered)
    assert (delivered.order_id, delivered.key_count, delivered.sealed) == (
        saga.order_id,
        2,
        SEALED,
    )
    assert delivered.customer_email == "buyer@example.com"
    assert delivered.kinguin_order_id == NO_KINGUIN_ORDER  # Kinguin never sold this order
    [moved] = of_type(saga, OrderStatusChanged)
    assert (moved.previous_status, moved.status) == ("failed", "delivering")
    assert moved.reason == "keys delivered by hand by admin:ann"
    assert saga.delivered_by_hand_by == "admin:ann"
    assert (saga.failure_stage, saga.failure_reason) == (None, None)


def test_after_a_hand_delivery_the_order_ends_as_any_other() -> None:
    saga = saga_in("failed")
    saga.delivered_by_hand("admin:ann", 2, SEALED, stuck=False)
    stored(saga)
    saga.keys_delivered()  # fulfillment hears its own keys.delivered: nothing more happens
    assert saga.pending == []
    saga.delivery_completed(2)
    assert states(saga) == ["fulfilled"]
    assert commands(saga) == ["OrderFulfilled"]


def test_a_stuck_order_is_delivered_and_its_timers_are_dropped() -> None:
    saga = saga_in("reserved")
    saga.timers.clear()
    stored(saga)
    saga.delivered_by_hand("admin:ann", 2, SEALED, stuck=True)
    assert states(saga) == ["delivering"]
    [delivered] = of_type(saga, KeysDelivered)
    assert delivered.kinguin_order_id == "K-1"
    assert saga.timers.cancelled == {POLL, DEADLINE}
    # Kinguin completing its order late asks nobody for its keys any more.
    saga.kinguin_status_changed("K-1", "completed", T0 + timedelta(minutes=5))
    assert commands(saga) == ["KeysDelivered"]
    saga.delivery_completed(2)
    assert saga.state == "fulfilled"


def test_an_order_that_is_neither_failed_nor_stuck_is_refused() -> None:
    assert refusal(saga_in("reserving")) == "not_failed_or_stuck"
    assert refusal(saga_in("keys_requested")) == "not_failed_or_stuck"


@pytest.mark.parametrize("state", ["delivering", "fulfilled"])
def test_an_order_whose_keys_reached_delivery_is_refused_even_if_stuck(state: str) -> None:
    assert refusal(saga_in(state), stuck=True) == "keys_already_with_delivery"


def test_a_refunded_order_is_refused() -> None:
    assert refusal(saga_in("refunded"), stuck=True) == "order_refunded"


def test_a_delivery_failure_is_refused_delivery_already_holds_keys() -> None:
    saga = saga_in("keys_requested")
    saga.delivery_failed("smtp_down", "refused")
    assert saga.state == "failed"
    assert refusal(saga) == "keys_already_with_delivery"


def test_a_second_hand_delivery_is_refused() -> None:
    saga = saga_in("failed")
    saga.delivered_by_hand("admin:ann", 2, SEALED, stuck=False)
    saga.delivery_failed("smtp_down", "refused")
    assert saga.state == "failed"
    assert refusal(saga) == "already_delivered_by_hand"


@pytest.mark.parametrize("key_count", [1, 3])
def test_not_as_many_keys_as_the_order_holds_is_refused(key_count: int) -> None:
    assert refusal(saga_in("failed"), key_count) == "key_count_mismatch"


def test_the_deadline_after_a_hand_delivery_fails_nothing() -> None:
    saga = saga_in("failed")
    saga.delivered_by_hand("admin:ann", 2, SEALED, stuck=False)
    stored(saga)
    saga.timer_fired(DEADLINE, 1, POLICY)
    assert saga.state == "delivering"


@pytest.mark.parametrize("status", ["approved", "sending", "sent", "refunded_outside"])
def test_keys_are_refused_once_the_refund_is_approved_or_paid(status: RefundStatus) -> None:
    saga = saga_in("failed")
    saga.refund_status_changed(refund(saga, status, T0))
    assert refusal(saga) == "refund_paid"
