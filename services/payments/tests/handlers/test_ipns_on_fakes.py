"""How IPNs move an order, on the in-memory unit of work (no database): each IPN is
stored as the edge stores an authentic one and applied by the processor. Late and odd
payments each raise a flag with their amounts, and only a payment that covers the order
pays it (once). The edge itself (signatures, bodies, answers) and the guarantees (locks,
retries, the outbox) are tested on PostgreSQL and the bus."""

import random
from uuid import UUID

import pytest
from payments_fakes import FakePaymentsWork, apply_ipns, placed
from payments_support import LATE_PAYMENT, ipn

from bitloot_contracts.events import PaymentFinished, PaymentStatusChanged
from bitloot_payments.handlers.queries import timeline_of


@pytest.fixture
def uow() -> FakePaymentsWork:
    return FakePaymentsWork()


def finished(uow: FakePaymentsWork) -> list[UUID]:
    return [e.order_id for e in uow.events if isinstance(e, PaymentFinished)]


def flagged(uow: FakePaymentsWork, order_id: UUID | None) -> list[str]:
    return [f.kind for f in uow.store.flags.values() if f.order_id == order_id]


async def test_a_status_older_than_the_known_one_changes_nothing(uow: FakePaymentsWork) -> None:
    order_id = str(await placed(uow))
    results = await apply_ipns(uow, ipn(order_id, "finished"), ipn(order_id, "confirming"))
    assert len(finished(uow)) == 1
    changes = [e.status for e in uow.events if isinstance(e, PaymentStatusChanged)]
    assert changes == ["finished"]
    order = uow.store.orders[UUID(order_id)]
    assert (order.status, order.payment_status) == ("paid", "finished")
    assert results == ["paid", "stale"]


async def test_a_finished_payment_of_the_wrong_amount_or_currency_does_not_pay_the_order(
    uow: FakePaymentsWork,
) -> None:
    short, other_coin = str(await placed(uow)), str(await placed(uow))
    results = await apply_ipns(
        uow,
        ipn(short, "finished", price_amount=24.99),
        ipn(other_coin, "finished", payment_id=7, price_currency="eur"),
    )
    assert finished(uow) == []
    assert uow.store.orders[UUID(short)].status == "invoiced"
    assert results == ["amount_mismatch", "currency_mismatch"]


async def test_partially_paid_does_not_pay_and_is_flagged_for_admins(
    uow: FakePaymentsWork,
) -> None:
    order_id = await placed(uow)
    await apply_ipns(uow, ipn(str(order_id), "partially_paid", actually_paid=20))
    assert finished(uow) == []
    assert uow.store.orders[order_id].status == "invoiced"
    assert flagged(uow, order_id) == ["partially_paid"]
    timeline = timeline_of(uow.store.orders[order_id], [], list(uow.store.flags.values()))
    [flag] = [item for item in timeline if item.kind == "flagged"]
    assert flag.data["flag"] == "partially_paid"


async def test_a_finished_payment_that_paid_less_than_asked_does_not_pay(
    uow: FakePaymentsWork,
) -> None:
    order_id = await placed(uow)
    assert await apply_ipns(uow, ipn(str(order_id), "finished", actually_paid=25.09)) == [
        "underpaid"
    ]
    assert uow.store.orders[order_id].status == "invoiced"
    assert flagged(uow, order_id) == ["underpaid"]


async def test_a_redeposit_is_logged_and_flagged_but_never_delivered(
    uow: FakePaymentsWork,
) -> None:
    order_id = await placed(uow)
    redeposit = ipn(str(order_id), "finished", payment_id=5077125099, parent_payment_id=5077125051)
    results = await apply_ipns(uow, ipn(str(order_id), "finished"), redeposit)
    assert len(finished(uow)) == 1
    assert results == ["paid", "redeposit"]
    assert flagged(uow, order_id) == ["redeposit"]


async def test_an_ipn_for_an_unknown_order_is_logged_and_flagged(uow: FakePaymentsWork) -> None:
    unknown = "0b5c5f0e-5a1c-4d1e-9a52-3b0c7c1b1a10"
    await apply_ipns(uow, ipn(unknown, "finished"))
    assert [(i.signature_valid, i.duplicate, i.result) for i in uow.store.ipns.values()] == [
        (True, False, "unknown_order")
    ]
    [flag] = uow.store.flags.values()
    assert (flag.kind, flag.payment_id, flag.order_id) == ("unknown_order", "5077125051", None)
    assert unknown in flag.detail


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_a_shuffled_sequence_with_duplicates_pays_once(
    uow: FakePaymentsWork, seed: int
) -> None:
    order_id = await placed(uow)
    statuses = ["waiting", "confirming", "confirmed", "sending", "finished"]
    sequence = [*statuses, *random.Random(seed).choices(statuses, k=5)]
    random.Random(seed).shuffle(sequence)
    await apply_ipns(uow, *(ipn(str(order_id), status) for status in sequence))
    assert len(finished(uow)) == 1
    order = uow.store.orders[order_id]
    assert (order.status, order.payment_status) == ("paid", "finished")
    logged = uow.store.ipns.values()
    assert len(logged) == 10
    assert sum(i.duplicate for i in logged) == 5


async def test_money_arriving_after_the_payment_expired_is_flagged_late_never_dropped(
    uow: FakePaymentsWork,
) -> None:
    order_id = await placed(uow)
    statuses = ("waiting", "expired", "finished")
    results = await apply_ipns(uow, *(ipn(str(order_id), status) for status in statuses))
    assert finished(uow) == []
    assert results == ["applied", "applied", "late_payment"]
    assert uow.store.orders[order_id].status == "failed"
    [flag] = uow.store.flags.values()
    assert flag.kind == "late_payment"
    assert flag.data == LATE_PAYMENT


async def test_an_overpayment_is_fulfilled_and_the_difference_flagged(
    uow: FakePaymentsWork,
) -> None:
    order_id = await placed(uow)
    await apply_ipns(uow, ipn(str(order_id), "finished", actually_paid=30))
    assert finished(uow) == [order_id]
    [flag] = uow.store.flags.values()
    assert (flag.kind, flag.data["difference"]) == ("overpaid", "4.9")


async def test_a_redeposit_naming_no_order_is_linked_to_its_order_through_its_parent(
    uow: FakePaymentsWork,
) -> None:
    """NOWPayments' own re-deposit example: ``order_id`` null, ``parent_payment_id`` set."""
    order_id = await placed(uow)
    redeposit = ipn(str(order_id), "finished", payment_id=123456789, parent_payment_id=5077125051)
    results = await apply_ipns(
        uow, ipn(str(order_id), "finished"), {**redeposit, "order_id": None, "actually_paid": 15}
    )
    assert results == ["paid", "redeposit"]
    kinds = {(f.kind, f.payment_id) for f in uow.store.flags.values() if f.order_id == order_id}
    assert kinds == {("redeposit", "123456789")}
    [linked] = [i for i in uow.store.ipns.values() if i.payment_id == "123456789"]
    assert linked.order_id == order_id
    ipns = [i for i in uow.store.ipns.values() if i.order_id == order_id]
    timeline = timeline_of(uow.store.orders[order_id], ipns, [])
    assert "redeposit" in [item.data.get("result") for item in timeline]


async def test_a_redeposit_to_a_payment_we_do_not_know_is_flagged_unknown(
    uow: FakePaymentsWork,
) -> None:
    orphan = {**ipn("x", "finished", parent_payment_id=42), "order_id": None}
    assert await apply_ipns(uow, orphan) == ["unknown_order"]
