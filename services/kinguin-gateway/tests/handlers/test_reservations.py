"""reservation.requested and reservation.poll on the real bus: exactly one purchase."""

import json
from decimal import Decimal
from uuid import UUID, uuid4

from kinguin_gateway_support import Gateway, StandInKinguin, published
from sqlalchemy import select

from bitloot_contracts.events import ReservationLine, ReservationPoll, ReservationRequested
from bitloot_kinguin_gateway.adapters.orm import reservations
from bitloot_kinguin_gateway.adapters.repository import ReservationRepository


def request(order_id: UUID, price: str = "3.00") -> ReservationRequested:
    line = ReservationLine(kinguin_product_id="prod-a", qty=2, max_unit_price=Decimal(price))
    return ReservationRequested(order_id=order_id, lines=(line,))


async def state_of(gateway: Gateway, order_id: UUID) -> str | None:
    async with gateway.runtime.engine.connect() as connection:
        query = select(reservations.c.state).where(reservations.c.order_id == order_id)
        return await connection.scalar(query)


async def test_a_request_delivered_twice_buys_once_and_reports_once(
    gateway: Gateway, kinguin: StandInKinguin
) -> None:
    order_id = uuid4()
    event = request(order_id)
    async with gateway.spy() as spy:
        await gateway.publish(event)
        await gateway.publish(event)
        await gateway.publish(event.model_copy(update={"event_id": uuid4()}))
        [created] = await published(spy, "reservation.created", 1)
    [order] = kinguin.orders.values()
    assert order.external_id == str(order_id)
    assert json.loads(created.body)["kinguin_order_id"] == order.order_id
    assert kinguin.calls.count("POST /v2/order") == 1
    assert await state_of(gateway, order_id) == "placed"


async def test_a_retry_after_a_crash_finds_the_order_placed_before_the_crash(
    gateway: Gateway, kinguin: StandInKinguin
) -> None:
    order_id = uuid4()
    # The first attempt committed `placing`, bought, and died before recording it.
    async with gateway.runtime.unit_of_work() as uow:
        await ReservationRepository(uow.session).add_placing(order_id, [{"qty": 2}])
        await uow.commit()
    bought = kinguin.place(str(order_id), {"prod-a": 2})
    async with gateway.spy() as spy:
        await gateway.publish(request(order_id))
        [created] = await published(spy, "reservation.created", 1)
    assert json.loads(created.body)["kinguin_order_id"] == bought.order_id
    assert len(kinguin.orders) == 1
    assert "POST /v2/order" not in kinguin.calls


async def test_kinguin_refusing_the_price_fails_the_reservation_with_its_reason(
    gateway: Gateway, kinguin: StandInKinguin
) -> None:
    order_id = uuid4()
    async with gateway.spy() as spy:
        await gateway.publish(request(order_id, price="1.00"))
        [failed] = await published(spy, "reservation.failed", 1)
    assert json.loads(failed.body)["code"] == "constraint_violation"
    assert kinguin.orders == {}
    assert await state_of(gateway, order_id) == "failed"


async def test_a_poll_reports_a_completion_whose_webhook_was_lost(
    gateway: Gateway, kinguin: StandInKinguin
) -> None:
    order_id = uuid4()
    async with gateway.spy() as spy:
        await gateway.publish(request(order_id))
        [created] = await published(spy, "reservation.created", 1)
        kinguin_order_id = json.loads(created.body)["kinguin_order_id"]
        kinguin.complete(kinguin_order_id)
        poll = ReservationPoll(order_id=order_id, attempt=1)
        await gateway.publish(poll)
        [webhook] = await published(spy, "kinguin.webhook", 1)
        await gateway.publish(poll.model_copy(update={"event_id": uuid4(), "attempt": 2}))
        assert await published(spy, "kinguin.webhook", 0) == []
    assert json.loads(webhook.body)["status"] == "completed"
    assert json.loads(webhook.body)["kinguin_order_id"] == kinguin_order_id
