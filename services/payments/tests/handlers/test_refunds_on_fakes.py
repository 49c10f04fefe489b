"""Refunds the bus or an admin makes due or cancels, and what the customer is told, on
the in-memory unit of work (no database): a failed order fulfilled after all never keeps
both its keys and its refund unseen, and nothing is owed twice. Redelivery (the inbox),
the order's lock and the HTTP answers are tested on PostgreSQL and the bus
(handlers/test_refunds, test_fulfilment, test_flag_decisions)."""

from datetime import timedelta
from decimal import Decimal
from uuid import UUID

import pytest
from payments_fakes import NOW, FakePaymentsWork, apply_ipns, customer_status, paid, placed
from payments_support import ipn

from bitloot_contracts.events import (
    DeliveryCompleted,
    KeysRevoked,
    OrderFailed,
    OrderStatusChanged,
    RefundStatusChanged,
)
from bitloot_payments.domain.flags import ACCEPT, DISMISS, REFUND_DUE, allowed
from bitloot_payments.domain.refunds import REFUNDED_OUTSIDE, RefundRefused
from bitloot_payments.handlers.fulfilment import RecordFulfilment
from bitloot_payments.handlers.refund_decisions import DecideRefund, Decision
from bitloot_payments.handlers.refunds import RecordKeyEmail, RefundFailedOrder, RefundRevokedKeys
from bitloot_payments.handlers.resolve_flags import DecideFlag, Refused


@pytest.fixture
def uow() -> FakePaymentsWork:
    return FakePaymentsWork()


def failed(order_id: UUID, at: timedelta = timedelta(0)) -> OrderFailed:
    return OrderFailed(order_id=order_id, stage="reserving", reason="out", occurred_at=NOW + at)


async def fulfilled(uow: FakePaymentsWork, order_id: UUID, at: timedelta = timedelta(0)) -> None:
    event = OrderStatusChanged(order_id=order_id, status="fulfilled", occurred_at=NOW + at)
    await RecordFulfilment()(event, uow)
    await uow.commit()


def changes(uow: FakePaymentsWork) -> list[tuple[str, str | None]]:
    found = [e for e in uow.events if isinstance(e, RefundStatusChanged)]
    return [(e.status, e.previous_status) for e in found]


async def made_due(uow: FakePaymentsWork) -> UUID:
    """A paid order whose saga failed a minute ago: its refund (id 1) is due."""
    order_id = await paid(uow)
    await RefundFailedOrder()(failed(order_id, timedelta(minutes=-1)), uow)
    await uow.commit()
    return order_id


async def fulfilled_after_all(uow: FakePaymentsWork, status: str) -> UUID:
    """A paid order whose saga failed, its refund (id 1) then `status`, fulfilled after all."""
    order_id = await made_due(uow)
    await uow.refunds.move(1, status)
    await fulfilled(uow, order_id)
    return order_id


async def test_keys_revoked_unrevealed_make_the_order_refund_due(uow: FakePaymentsWork) -> None:
    order_id = await paid(uow)
    revoked = KeysRevoked(order_id=order_id, key_count=2, revoked_by="admin:ana", note="unused")
    await RefundRevokedKeys()(revoked, uow)
    await uow.commit()
    [refund] = uow.store.refunds.values()
    assert (refund.reason, refund.requested_by, refund.note) == (
        "keys_unrevealed",
        "admin:ana",
        "unused",
    )
    [due] = [e for e in uow.events if isinstance(e, RefundStatusChanged)]
    assert due.reason == "keys_unrevealed"


async def test_a_failure_older_than_the_known_fulfilment_owes_nothing(
    uow: FakePaymentsWork,
) -> None:
    order_id = await paid(uow)
    await fulfilled(uow, order_id)
    assert uow.store.orders[order_id].fulfilment_state == "fulfilled"
    await RefundFailedOrder()(failed(order_id, timedelta(minutes=-5)), uow)
    assert not uow.store.refunds


@pytest.mark.parametrize("status", ["due", "claimed", "failed"])
async def test_a_refund_nothing_was_paid_for_is_canceled_when_the_order_is_fulfilled_after_all(
    uow: FakePaymentsWork, status: str
) -> None:
    order_id = await fulfilled_after_all(uow, status)
    [refund] = uow.store.refunds.values()
    assert refund.status == "canceled"
    assert uow.store.orders[order_id].status == "paid"
    assert changes(uow) == [("due", None), ("canceled", status)]
    assert not uow.store.flags


@pytest.mark.parametrize("status", ["approved", "sending", "sent", "refunded_outside"])
async def test_a_refund_money_moved_for_is_flagged_once_not_canceled_when_fulfilled_after_all(
    uow: FakePaymentsWork, status: str
) -> None:
    order_id = await fulfilled_after_all(uow, status)
    await fulfilled(uow, order_id, timedelta(seconds=1))
    [flag] = uow.store.flags.values()
    assert flag.kind == "fulfilled_after_refund"
    assert flag.data == {"refund_id": "1", "refund_status": status}
    assert uow.store.refunds[1].status == status
    assert len(changes(uow)) == 1


async def test_an_unconfirmed_key_email_makes_a_fulfilled_order_keys_ready(
    uow: FakePaymentsWork,
) -> None:
    order_id = await paid(uow)
    await fulfilled(uow, order_id)
    assert await customer_status(uow, order_id) == "delivered"
    unconfirmed = DeliveryCompleted(order_id=order_id, key_count=1, email_sent=False)
    await RecordKeyEmail()(unconfirmed, uow)
    assert await customer_status(uow, order_id) == "keys_ready"
    await RecordKeyEmail()(unconfirmed.model_copy(update={"email_sent": True}), uow)
    assert await customer_status(uow, order_id) == "delivered"
    # A late report of the earlier, unconfirmed attempt does not take it back.
    await RecordKeyEmail()(unconfirmed, uow)
    assert await customer_status(uow, order_id) == "delivered"


async def test_refund_due_on_a_partial_payment_owes_what_arrived_and_stops_the_order(
    uow: FakePaymentsWork,
) -> None:
    order_id = await placed(uow)
    await apply_ipns(uow, ipn(str(order_id), "partially_paid", actually_paid=12.3))
    [flag] = uow.store.flags.values()
    decide = DecideFlag(uow.factory())
    decided = await decide(flag.id, REFUND_DUE, "admin:carol", None)
    assert (decided.order_status, decided.flag.status) == ("refund_due", "refund_due")
    with pytest.raises(Refused):
        await decide(flag.id, REFUND_DUE, "admin:carol", None)
    [due] = [e for e in uow.events if isinstance(e, RefundStatusChanged)]
    assert (due.status, due.reason, due.amount, due.currency) == (
        "due",
        "partially_paid",
        Decimal("12.3"),
        "usdttrc20",
    )
    [refund] = uow.store.refunds.values()
    assert (refund.amount, refund.currency, refund.reason) == (
        Decimal("12.3"),
        "usdttrc20",
        "partially_paid",
    )
    assert (refund.status, refund.requested_by, refund.flag_id) == ("due", "admin:carol", flag.id)
    assert uow.store.orders[order_id].status == "refund_due"
    with pytest.raises(Refused) as accept:
        await decide(flag.id, ACCEPT, "admin:carol", None)
    assert accept.value.code == "flag_resolved"


async def test_refund_due_on_an_overpayment_owes_the_difference_and_not_again_when_the_order_fails(
    uow: FakePaymentsWork,
) -> None:
    order_id = await placed(uow)
    await apply_ipns(uow, ipn(str(order_id), "finished", actually_paid=30, payment_id=31337))
    [flag] = uow.store.flags.values()
    assert flag.kind == "overpaid"
    assert allowed(flag.kind, flag.data, "paid") == [REFUND_DUE, DISMISS]
    decide = DecideFlag(uow.factory())
    with pytest.raises(Refused) as accept:
        await decide(flag.id, ACCEPT, "ana", None)
    assert accept.value.code == "cannot_accept"
    assert (await decide(flag.id, REFUND_DUE, "ana", None)).order_status == "paid"
    assert [(r.amount, r.reason) for r in uow.store.refunds.values()] == [
        (Decimal("4.9"), "overpaid")
    ]
    await RefundFailedOrder()(failed(order_id), uow)
    owed = [(r.reason, r.amount) for r in uow.store.refunds.values()]
    assert owed == [("overpaid", Decimal("4.9")), ("order_failed", Decimal("25.1"))]


async def test_refunded_outside_records_the_transaction_and_refunds_the_order(
    uow: FakePaymentsWork,
) -> None:
    order_id = await made_due(uow)
    decide = DecideRefund(uow.factory())
    with pytest.raises(RefundRefused) as no_note:
        await decide(1, Decision(REFUNDED_OUTSIDE, "ana"))
    assert no_note.value.code == "note_required"
    note = "Sent from the hot wallet by hand."
    refund = await decide(1, Decision(REFUNDED_OUTSIDE, "ana", note, "0xabc123"))
    assert (refund.status, refund.transaction_id) == ("refunded_outside", "0xabc123")
    assert uow.store.orders[order_id].status == "refunded"
    last = [e for e in uow.events if isinstance(e, RefundStatusChanged)][-1]
    assert (last.status, last.transaction_id) == ("refunded_outside", "0xabc123")
    assert await customer_status(uow, order_id) == "refunded"


async def test_no_refund_is_recorded_outside_while_its_payout_is_being_sent(
    uow: FakePaymentsWork,
) -> None:
    order_id = await made_due(uow)
    await uow.refunds.move(1, "sending")
    await uow.commit()
    with pytest.raises(RefundRefused) as sending:
        await DecideRefund(uow.factory())(1, Decision(REFUNDED_OUTSIDE, "ana", "x"))
    assert sending.value.code == "refund_closed"
    assert uow.store.orders[order_id].status == "refund_due"
