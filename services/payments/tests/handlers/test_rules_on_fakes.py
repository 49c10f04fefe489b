"""The payments use cases' business rules, on the in-memory unit of work (no database):
what is owed back and when, what an admin's decision does, how an IPN moves an order and
what the customer is then told. The guarantees (locks, one transaction, the outbox) are
tested on PostgreSQL elsewhere."""

import json
from datetime import datetime, timedelta
from decimal import Decimal
from unittest.mock import Mock
from uuid import UUID, uuid4

import pytest
from payments_fakes import NOW, FakePaymentsWork, apply_ipns, customer_status, paid, placed
from payments_support import ipn

from bitloot_contracts.events import (
    DeliveryCompleted,
    OrderFailed,
    OrderState,
    OrderStatusChanged,
    PaymentFinished,
    ProductAvailabilityChanged,
    ProductListed,
    RefundStatusChanged,
)
from bitloot_payments.adapters.payouts import NowPaymentsPayouts
from bitloot_payments.domain.flags import REFUND_AMOUNT_UNKNOWN
from bitloot_payments.domain.records import ERROR, PENDING, Flag, IpnEntry
from bitloot_payments.domain.refunds import RefundRefused
from bitloot_payments.handlers.availability import RecordAvailability
from bitloot_payments.handlers.catalog import SaveProduct
from bitloot_payments.handlers.fulfilment import RecordFulfilment
from bitloot_payments.handlers.payouts import PayoutRunner
from bitloot_payments.handlers.ports import Product
from bitloot_payments.handlers.process_ipns import IpnProcessor
from bitloot_payments.handlers.refund_decisions import DecideRefund, Decision
from bitloot_payments.handlers.refunds import RecordKeyEmail, RefundFailedOrder
from bitloot_payments.handlers.resolve_flags import DecideFlag, Refused, ReplayIpn


@pytest.fixture
def uow() -> FakePaymentsWork:
    return FakePaymentsWork()


def failed(order_id: UUID, at: datetime = NOW) -> OrderFailed:
    return OrderFailed(order_id=order_id, stage="reserving", reason="out of stock", occurred_at=at)


def refund_events(uow: FakePaymentsWork) -> list[RefundStatusChanged]:
    return [e for e in uow.events if isinstance(e, RefundStatusChanged)]


async def test_a_failed_paid_order_owes_what_was_actually_paid_once(uow: FakePaymentsWork) -> None:
    order_id = await paid(uow)
    for _ in range(2):
        await RefundFailedOrder()(failed(order_id), uow)
        await uow.commit()
    [refund] = uow.store.refunds.values()
    assert (refund.amount, refund.currency, refund.status) == (Decimal("25.1"), "usdttrc20", "due")
    assert uow.store.orders[order_id].status == "refund_due"
    [event] = refund_events(uow)
    assert (event.status, event.customer_email) == ("due", "buyer@example.com")


async def test_a_failed_order_never_paid_owes_nothing(uow: FakePaymentsWork) -> None:
    order_id = await placed(uow)
    await RefundFailedOrder()(failed(order_id), uow)
    await RefundFailedOrder()(failed(UUID(int=7)), uow)  # not even ours
    await uow.commit()
    assert not uow.store.refunds
    assert uow.store.orders[order_id].status == "invoiced"
    assert not uow.events


async def test_a_refund_of_an_unknown_amount_is_flagged_not_guessed(uow: FakePaymentsWork) -> None:
    order_id = await paid(uow, actually_paid=None)
    await RefundFailedOrder()(failed(order_id), uow)
    await uow.commit()
    assert not uow.store.refunds
    [flag] = uow.store.flags.values()
    assert (flag.kind, flag.order_id) == (REFUND_AMOUNT_UNKNOWN, order_id)
    assert not refund_events(uow)


async def test_a_key_email_of_an_unknown_order_changes_nothing(uow: FakePaymentsWork) -> None:
    event = DeliveryCompleted(order_id=uuid4(), key_count=1, email_sent=True)
    await RecordKeyEmail()(event, uow)
    assert not uow.store.orders


async def test_accepting_a_flag_pays_the_order_once(uow: FakePaymentsWork) -> None:
    order_id = await placed(uow)
    await uow.flags.add(Flag("partially_paid", "short", order_id, "5077125051", data={}))
    await uow.commit()
    decide = DecideFlag(uow.factory())
    decided = await decide(1, "accept", "ana", None)
    assert (decided.order_status, decided.flag.status, decided.flag.resolved_by) == (
        "paid",
        "accepted",
        "ana",
    )
    assert uow.store.orders[order_id].status == "paid"
    with pytest.raises(Refused) as again:
        await decide(1, "accept", "bob", None)
    assert again.value.code == "flag_resolved"
    assert len([e for e in uow.events if isinstance(e, PaymentFinished)]) == 1


async def test_dismissing_a_flag_needs_a_note(uow: FakePaymentsWork) -> None:
    with pytest.raises(Refused) as refused:
        await DecideFlag(uow.factory())(1, "dismiss", "ana", " ")
    assert refused.value.code == "note_required"


async def test_only_a_claimed_or_failed_refund_is_approved_and_approving_wakes_the_payouts(
    uow: FakePaymentsWork,
) -> None:
    order_id = await paid(uow)
    await RefundFailedOrder()(failed(order_id), uow)
    await uow.commit()
    woken: list[bool] = []
    decide = DecideRefund(uow.factory(), lambda: woken.append(True))
    with pytest.raises(RefundRefused) as due:
        await decide(1, Decision("approved", "ana"))
    assert (due.value.code, uow.store.refunds[1].status, woken) == ("not_claimed", "due", [])
    for status in ("claimed", "failed"):
        await uow.refunds.move(1, status)
        await uow.commit()
        approved = await decide(1, Decision("approved", "ana"))
        assert (approved.status, approved.decided_by, woken[-1]) == ("approved", "ana", True)
        last = refund_events(uow)[-1]
        assert (last.status, last.previous_status) == ("approved", status)


async def test_a_refund_approved_without_an_address_fails_and_nothing_is_paid(
    uow: FakePaymentsWork,
) -> None:
    await RefundFailedOrder()(failed(await paid(uow)), uow)
    await uow.refunds.move(1, "approved")
    await uow.commit()
    nowpayments = Mock(spec=NowPaymentsPayouts)
    runner = PayoutRunner(
        uow.factory(), nowpayments, ipn_callback_url=None, poll_after=timedelta(1),
        lookup_after=timedelta(1),
    )  # fmt: skip
    assert await runner() == 1
    refund = uow.store.refunds[1]
    assert (refund.status, (refund.error or "").split(":")[0]) == ("failed", "no_payout_address")
    assert [e.status for e in refund_events(uow)][-1] == "failed"
    assert nowpayments.mock_calls == []
    assert await runner() == 0


async def test_only_an_ipn_given_up_is_replayed(uow: FakePaymentsWork) -> None:
    given_up = await uow.ipns.add(IpnEntry(b"{", True, PENDING, "77"))
    await uow.ipns.record_failure(given_up, "defect", 3, None)
    await uow.flags.add(Flag("processing_error", "failed", ipn_id=given_up))
    applied = await uow.ipns.add(IpnEntry(b"{}", True, "paid", "78"))
    await uow.commit()
    woken: list[bool] = []
    replay = ReplayIpn(uow.factory(), lambda: woken.append(True))
    ipn_log, put_back = await replay(given_up, "ana")
    assert (ipn_log.result, ipn_log.replayed_by, put_back, woken) == (PENDING, "ana", True, [True])
    assert uow.store.flags[1].status == "replayed"
    assert await replay(given_up, "ana") == (uow.store.ipns[given_up], False)
    with pytest.raises(Refused):
        await replay(applied, "ana")
    assert uow.store.ipns[applied].result != ERROR


async def test_a_finished_ipn_pays_its_order_and_a_repeat_changes_nothing(
    uow: FakePaymentsWork,
) -> None:
    order_id = await placed(uow)
    body = json.dumps(ipn(str(order_id), "finished")).encode()
    for _ in range(2):
        await uow.ipns.add(IpnEntry(body, True, PENDING, "5077125051", order_id, "finished"))
    await uow.commit()
    processor = IpnProcessor(uow.factory())
    assert await processor.process_batch() == 2
    assert [i.result for i in uow.store.ipns.values()] == ["paid", "duplicate"]
    assert uow.store.orders[order_id].status == "paid"
    [finished] = [e for e in uow.events if isinstance(e, PaymentFinished)]
    assert (finished.amount, [line.qty for line in finished.lines]) == (Decimal(25), [2])


async def test_an_availability_older_than_the_one_known_is_ignored(uow: FakePaymentsWork) -> None:
    for qty, at in ((3, 0), (1, -5)):
        observed_at = NOW + timedelta(seconds=at)
        event = ProductAvailabilityChanged(
            kinguin_product_id="kp-1", qty=qty, is_preorder=False, release_date=None,
            observed_at=observed_at, price=Decimal(10),
        )  # fmt: skip
        await RecordAvailability()(event, uow)
    assert (await uow.availability.of(["kp-1", "kp-2"]))["kp-1"].qty == 3


async def test_a_product_moved_to_another_kinguin_product_unlists_the_old_one_if_unsold(
    uow: FakePaymentsWork,
) -> None:
    for sku, kinguin_product_id in (("a", "k-1"), ("b", "k-1"), ("a", "k-2"), ("b", "k-3")):
        product = Product(sku, sku, kinguin_product_id, Decimal(3), "usd", Decimal(2), True)
        await SaveProduct(uow.factory())(product)
    listed = [(e.kinguin_product_id, e.active) for e in uow.events if isinstance(e, ProductListed)]
    assert listed == [
        ("k-1", True), ("k-1", True), ("k-1", True), ("k-2", True), ("k-1", False), ("k-3", True),
    ]  # fmt: skip


async def saga(uow: FakePaymentsWork, order_id: UUID, state: OrderState, second: int) -> None:
    event = OrderStatusChanged(
        order_id=order_id, status=state, occurred_at=NOW + timedelta(seconds=second)
    )
    await RecordFulfilment()(event, uow)


async def test_the_order_page_follows_payment_then_fulfilment_in_the_shared_words(
    uow: FakePaymentsWork,
) -> None:
    order_id = await placed(uow)
    assert await customer_status(uow, order_id) == "awaiting_payment"
    await apply_ipns(uow, ipn(str(order_id), "finished"))
    assert await customer_status(uow, order_id) == "payment_received"
    # Delivered, then a late and a repeated older state: the page stays at delivered.
    history: list[tuple[OrderState, int]] = [
        ("reserving", 2),
        ("fulfilled", 9),
        ("delivering", 7),
        ("reserving", 2),
    ]
    for state, second in history:
        await saga(uow, order_id, state, second)
    assert await customer_status(uow, order_id) == "delivered"
    await saga(uow, order_id, "keys_requested", 5)
    told = await customer_status(uow, order_id), uow.store.orders[order_id].fulfilment_state
    assert told == ("delivered", "fulfilled")


async def test_an_order_with_money_an_admin_must_judge_is_under_review(
    uow: FakePaymentsWork,
) -> None:
    order_id = await placed(uow)
    await apply_ipns(uow, ipn(str(order_id), "partially_paid", actually_paid=3))
    assert await customer_status(uow, order_id) == "under_review"


async def test_a_failed_saga_is_failed_on_the_order_page_too(uow: FakePaymentsWork) -> None:
    order_id = await placed(uow)
    await apply_ipns(uow, ipn(str(order_id), "finished"))
    await saga(uow, order_id, "failed", 1)
    assert await customer_status(uow, order_id) == "failed"
