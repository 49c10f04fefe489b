"""The repositories' SQL that the business-rule tests leave to the fakes (payments_fakes),
which must behave as these statements do: one whole-order refund per order and reason (a
partial unique index), an availability kept only if newer, a re-deposit's order found
through its parent payment, a flag looked up by order and kind, a key email confirmed
for good."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

from payments_support import ipn
from sqlalchemy.ext.asyncio import AsyncEngine

from bitloot_payments.adapters.orm import metadata
from bitloot_payments.adapters.unit_of_work import PaymentsUnitOfWork
from bitloot_payments.domain.availability import Availability
from bitloot_payments.domain.notification import notification_of
from bitloot_payments.domain.order import PricedLine
from bitloot_payments.domain.payment import PaymentState
from bitloot_payments.domain.records import Flag, Refund
from bitloot_payments.migrations import VERSIONS
from bitloot_testing.retention import engine_fixture

engine = engine_fixture(metadata, [VERSIONS])


async def an_order(uow: PaymentsUnitOfWork) -> UUID:
    order_id = uuid4()
    line = PricedLine("g-1", "kp-1", 2, Decimal("12.5"), Decimal(13), "usd")
    assert await uow.orders.insert(order_id, "buyer@example.com", [line], Decimal(25), "usd")
    return order_id


async def test_an_order_owes_one_whole_order_refund_per_reason(engine: AsyncEngine) -> None:
    async with PaymentsUnitOfWork(engine) as uow:
        order_id = await an_order(uow)
        refund = Refund(order_id, Decimal("25.1"), "usdttrc20", "order_failed", "system")
        assert await uow.refunds.add_whole_order(refund) is not None
        assert await uow.refunds.add_whole_order(refund) is None
        other = Refund(order_id, Decimal("25.1"), "usdttrc20", "keys_unrevealed", "admin:ana")
        assert await uow.refunds.add_whole_order(other) is not None
        assert len(await uow.refunds.of_order(order_id)) == 2


async def test_an_availability_is_kept_only_if_newer_than_the_one_known(
    engine: AsyncEngine,
) -> None:
    now = datetime.now(UTC)
    async with PaymentsUnitOfWork(engine) as uow:
        for qty, at, kept in ((3, 0, True), (1, -5, False), (2, 5, True)):
            seen = Availability("kp-1", qty, None, False, None, now + timedelta(seconds=at))
            assert await uow.availability.record(seen) is kept
        assert (await uow.availability.of(["kp-1", "kp-2"]))["kp-1"].qty == 2


async def test_a_payment_names_its_order_and_a_flag_is_found_by_order_and_kind(
    engine: AsyncEngine,
) -> None:
    async with PaymentsUnitOfWork(engine) as uow:
        order_id = await an_order(uow)
        document = json.loads(json.dumps(ipn(str(order_id), "waiting")))
        notification = notification_of(document)
        assert notification is not None
        await uow.payments.save(notification, PaymentState(order_id, "waiting"))
        assert await uow.payments.order_of("5077125051") == order_id
        assert await uow.payments.order_of("42") is None
        await uow.flags.add(Flag("fulfilled_after_refund", "both", order_id, data={"x": "1"}))
        await uow.flags.add(Flag("overpaid", "more", order_id))
        [flag] = await uow.flags.of_order(order_id, "fulfilled_after_refund")
        assert (flag.order_id, flag.data) == (order_id, {"x": "1"})


async def test_a_key_email_confirmed_stays_confirmed(engine: AsyncEngine) -> None:
    async with PaymentsUnitOfWork(engine) as uow:
        order_id = await an_order(uow)
        for sent, confirmed in ((False, False), (True, True), (False, True)):
            assert await uow.orders.record_key_email(order_id, sent)
            order = await uow.orders.load(order_id)
            assert order is not None
            assert order.key_email_confirmed is confirmed
        assert not await uow.orders.record_key_email(uuid4(), True)
