"""What the saga records of the order's refund and key email, and the revival guard: a
failed order Kinguin completes late is delivered after all unless its refund is already
approved or paid."""

from dataclasses import replace
from datetime import timedelta
from typing import get_args

import pytest
from fulfillment_sagas import POLICY, T0, commands, paid, refund, saga_in, states, stored

from bitloot_contracts.events import RefundStatus
from bitloot_fulfillment.domain.saga import OrderSaga, RetryRefused, refund_blocks_revival
from bitloot_fulfillment.domain.timers import DEADLINE

PAID_OUT = ("approved", "sending", "sent", "refunded_outside")
NOT_PAID_OUT = tuple(s for s in get_args(RefundStatus) if s not in PAID_OUT)


def failed_at_deadline_then_bought() -> OrderSaga:
    """An order failed at its deadline whose Kinguin order turned up afterwards."""
    saga = paid()
    saga.timer_fired(DEADLINE, 1, POLICY)
    saga.reservation_created("K-1", "processing")
    assert saga.state == "failed"
    stored(saga)
    return saga


@pytest.mark.parametrize("status", PAID_OUT)
def test_the_rule_blocks_revival_once_the_refund_is_approved_or_paid(status: RefundStatus) -> None:
    assert refund_blocks_revival(status)


@pytest.mark.parametrize("status", [None, *NOT_PAID_OUT])
def test_the_rule_lets_revival_proceed_without_an_approved_refund(
    status: RefundStatus | None,
) -> None:
    assert not refund_blocks_revival(status)


@pytest.mark.parametrize("status", PAID_OUT)
def test_a_late_completion_after_the_refund_was_approved_or_paid_delivers_nothing(
    status: RefundStatus,
) -> None:
    saga = failed_at_deadline_then_bought()
    saga.refund_status_changed(refund(saga, "due", T0))
    saga.refund_status_changed(refund(saga, status, T0 + timedelta(minutes=5)))
    saga.kinguin_status_changed("K-1", "completed", T0 + timedelta(hours=1))
    assert saga.state == "failed"
    assert commands(saga) == []  # no KeysRequested
    assert states(saga) == []  # the state did not change: no order.status_changed
    assert "Kinguin completed the order after the refund was" in (saga.failure_reason or "")
    assert "keys not delivered" in (saga.failure_reason or "")
    assert saga.timers.scheduled == []
    # Kinguin repeating itself changes nothing more.
    reason = saga.failure_reason
    saga.kinguin_status_changed("K-1", "completed", T0 + timedelta(hours=2))
    assert (saga.state, saga.failure_reason, saga.pending) == ("failed", reason, [])


@pytest.mark.parametrize("status", ["due", "claimed"])
def test_a_late_completion_with_the_refund_only_due_or_claimed_delivers_the_keys(
    status: RefundStatus,
) -> None:
    saga = failed_at_deadline_then_bought()
    saga.refund_status_changed(refund(saga, status, T0))
    saga.kinguin_status_changed("K-1", "completed", T0 + timedelta(hours=1))
    assert states(saga) == ["reserved", "keys_requested"]
    assert commands(saga) == ["KeysRequested"]


def test_an_older_refund_report_arriving_late_does_not_reopen_the_revival() -> None:
    saga = failed_at_deadline_then_bought()
    saga.refund_status_changed(refund(saga, "sent", T0 + timedelta(minutes=9), "0xabc"))
    saga.refund_status_changed(refund(saga, "due", T0))  # overtaken on the bus
    saga.refund_status_changed(refund(saga, "claimed", T0 + timedelta(minutes=1)))
    assert (saga.refund_status, saga.refund_transaction_id) == ("sent", "0xabc")
    saga.kinguin_status_changed("K-1", "completed", T0 + timedelta(hours=1))
    assert saga.state == "failed"
    assert commands(saga) == []


def test_a_refund_report_moves_no_state_and_a_duplicate_changes_nothing() -> None:
    saga = saga_in("failed")
    stored(saga)
    report = refund(saga, "due", T0)
    saga.refund_status_changed(report)
    assert (saga.refund_id, saga.refund_status, saga.refund_at) == (41, "due", T0)
    assert saga.pending == []
    recorded = replace(saga)
    saga.refund_status_changed(report)
    assert saga == recorded
    assert saga.customer_status == "refund_due"


def test_the_customer_status_follows_the_refund_over_the_saga() -> None:
    saga = saga_in("failed")
    assert saga.customer_status == "failed"
    steps: list[tuple[RefundStatus, str]] = [
        ("due", "refund_due"),
        ("claimed", "refund_claimed"),
        ("sent", "refunded"),
    ]
    for minute, (status, expected) in enumerate(steps):
        saga.refund_status_changed(refund(saga, status, T0 + timedelta(minutes=minute)))
        assert saga.customer_status == expected


def test_an_unconfirmed_key_email_shows_keys_ready_until_a_confirmed_one() -> None:
    saga = saga_in("delivering")
    saga.delivery_completed(2, email_sent=False)
    assert (saga.state, saga.email_sent, saga.customer_status) == (
        "fulfilled",
        False,
        "keys_ready",
    )
    saga.delivery_completed(2, email_sent=True)  # an admin's resend was confirmed
    assert saga.customer_status == "delivered"
    saga.delivery_completed(2, email_sent=False)  # a late duplicate of the first report
    assert saga.customer_status == "delivered"


@pytest.mark.parametrize("status", PAID_OUT)
def test_an_admin_cannot_retry_a_failed_order_once_its_refund_is_approved(
    status: RefundStatus,
) -> None:
    saga = saga_in("failed")
    saga.refund_status_changed(refund(saga, status, T0))
    stored(saga)
    with pytest.raises(RetryRefused) as refused:
        saga.retry(POLICY)
    assert refused.value.code == "refund_paid"
    assert (saga.state, saga.pending) == ("failed", [])


@pytest.mark.parametrize("status", ["due", "claimed"])
def test_an_admin_retries_a_failed_order_whose_refund_is_only_due(status: RefundStatus) -> None:
    saga = saga_in("failed")
    saga.refund_status_changed(refund(saga, status, T0))
    stored(saga)
    saga.retry(POLICY)
    assert commands(saga) == ["ReservationRequested"]
