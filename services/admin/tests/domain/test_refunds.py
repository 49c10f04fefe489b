"""The refund rules the admin applies before asking payments: which decisions a status
leaves open, what a transaction id may be, and how a refund reads in words."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from bitloot_admin.domain.refunds import (
    REFUND_STATUSES,
    BadTransactionId,
    activity_in_words,
    clean_transaction_id,
    open_decisions,
    reason_in_words,
    refund_history,
    short_address,
)
from bitloot_admin.domain.views import OrderDetail, Saga, customer_status_of

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_each_status_leaves_open_exactly_the_decisions_payments_takes() -> None:
    opened = {status: [d.name for d in open_decisions(status)] for status in REFUND_STATUSES}
    assert opened == {
        "due": ["reject", "refunded-outside"],
        "claimed": ["approve", "reject", "refunded-outside"],
        "approved": ["refunded-outside"],
        "sending": [],
        "sent": [],
        "failed": ["approve", "reject", "refunded-outside"],
        "rejected": [],
        "refunded_outside": [],
        "canceled": [],
    }


def test_reject_and_refunded_outside_need_a_note_and_only_the_latter_a_transaction() -> None:
    needs = {d.name: (d.note_required, d.takes_transaction_id) for d in open_decisions("failed")}
    assert needs == {
        "approve": (False, False),
        "reject": (True, False),
        "refunded-outside": (True, True),
    }


def test_a_transaction_id_is_trimmed_blank_is_none_and_odd_ones_are_refused() -> None:
    assert clean_transaction_id("  0xab12:3  ") == "0xab12:3"
    assert clean_transaction_id(" ") is None
    assert clean_transaction_id(None) is None
    for bad in ("a b", "x" * 129, "<script>", "tx\n1"):
        with pytest.raises(BadTransactionId):
            clean_transaction_id(bad)


def test_reasons_and_addresses_read_as_an_operator_needs() -> None:
    assert (
        reason_in_words("order_failed", "kinguin")
        == "Order failed (Kinguin did not deliver the keys)"
    )
    assert reason_in_words("order_failed", "odd") == "Order failed (at odd)"
    assert reason_in_words("order_failed") == "Order failed"
    assert reason_in_words("paid_twice") == "Payment flag: paid twice"
    assert short_address("TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf") == "TXYZopYR…VkAeBf"
    assert short_address("short") == "short"
    assert short_address(None) == "—"


def test_a_refunds_history_is_its_own_moments_oldest_first() -> None:
    steps = refund_history(
        T0,
        T0 + timedelta(minutes=5),
        T0 + timedelta(minutes=9),
        "Decided by alice",
        T0 + timedelta(minutes=20),
        "sent",
    )
    assert [s.what for s in steps] == [
        "Recorded as due",
        "Claimed: the customer gave a payout address",
        "Decided by alice",
        "Now sent",
    ]


def test_the_projections_refund_events_read_in_words() -> None:
    assert activity_in_words("refund.status_changed", "refund_failed") == (
        "Refund failed — the payout did not go through"
    )
    assert activity_in_words("keys.revoked", "keys_revoked").startswith("Keys revoked")
    assert activity_in_words("order.fulfilled", "fulfilled") == "order.fulfilled: fulfilled"


def _order(**extra: object) -> OrderDetail:
    fields = {
        "order_id": uuid4(),
        "email": "a@example.com",
        "status": "paid",
        "total": "1",
        "currency": "usd",
        "created_at": T0,
    }
    return OrderDetail.model_validate({**fields, **extra})


def test_the_customer_status_is_payments_else_computed_from_refund_and_saga() -> None:
    saga = Saga(order_id=uuid4(), state="failed")
    assert customer_status_of(_order(customer_status="refunded"), saga) == "refunded"
    refunds = [{"id": 3, "status": "canceled"}, {"id": 12, "status": "failed"}]
    assert customer_status_of(_order(refunds=refunds), saga) == "refund_failed"
    assert customer_status_of(_order(), saga) == "failed"
    assert customer_status_of(_order(), None) is None
