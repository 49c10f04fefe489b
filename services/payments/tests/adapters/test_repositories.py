"""The repositories' SQL that the business-rule tests leave to the fakes (payments_fakes),
which must behave as these statements do: a re-deposit's order found through its parent
payment, a flag looked up by order and kind."""

import json
from decimal import Decimal
from uuid import UUID, uuid4

from payments_support import ipn
from sqlalchemy.ext.asyncio import AsyncEngine

from bitloot_payments.adapters.orm import metadata
from bitloot_payments.adapters.unit_of_work import PaymentsUnitOfWork
from bitloot_payments.domain.notification import notification_of
from bitloot_payments.domain.order import PricedLine
from bitloot_payments.domain.payment import PaymentState
from bitloot_payments.domain.records import Flag
from bitloot_payments.migrations import VERSIONS
from bitloot_testing.retention import engine_fixture

engine = engine_fixture(metadata, [VERSIONS])


async def an_order(uow: PaymentsUnitOfWork) -> UUID:
    order_id = uuid4()
    line = PricedLine("g-1", "kp-1", 2, Decimal("12.5"), Decimal(13), "usd")
    assert await uow.orders.insert(order_id, "buyer@example.com", [line], Decimal(25), "usd")
    return order_id


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
