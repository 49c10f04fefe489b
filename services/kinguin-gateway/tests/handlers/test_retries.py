"""An admin retry reaching the gateway (a new reservation.requested for a settled order):
a new Kinguin order only where none stands, under a new external id, never a second live
one; news about a replaced Kinguin order is kept but not forwarded."""

import json
from uuid import UUID, uuid4

from aio_pika.abc import AbstractIncomingMessage
from kinguin_gateway_support import (
    COUNTER_STRIKE,
    Gateway,
    Kinguin,
    notify,
    published,
    request,
    reserved,
)
from sqlalchemy import select

from bitloot_kinguin_gateway.adapters.orm import kinguin_orders, reservations, webhook_log
from bitloot_kinguin_gateway.adapters.repository import ReservationRepository
from bitloot_sandbox_kinguin.sandbox import Requested
from bitloot_testing.bus import Spy, eventually


async def external_ids(gateway: Gateway, order_id: UUID) -> list[tuple[str, str | None]]:
    async with gateway.runtime.engine.connect() as connection:
        query = (
            select(kinguin_orders.c.external_id, kinguin_orders.c.kinguin_status)
            .where(kinguin_orders.c.order_id == order_id)
            .order_by(kinguin_orders.c.attempt)
        )
        return [(row[0], row[1]) for row in await connection.execute(query)]


async def reservation_row(gateway: Gateway, order_id: UUID) -> tuple[str, int, str | None]:
    async with gateway.runtime.engine.connect() as connection:
        query = select(
            reservations.c.state, reservations.c.attempt, reservations.c.kinguin_order_id
        ).where(reservations.c.order_id == order_id)
        row = (await connection.execute(query)).one()
        return row[0], row[1], row[2]


async def cancel_at_kinguin(gateway: Gateway, kinguin: Kinguin, kinguin_order_id: str) -> None:
    """Kinguin cancels the order and says so by webhook (as its operators may)."""
    [order] = [o for o in kinguin.orders if o.order_id == kinguin_order_id]
    order.status = "canceled"
    await notify(gateway, order.order_id, str(order.order_external_id), "canceled", 5)


async def refused_then_restocked(
    gateway: Gateway,
    kinguin: Kinguin,
    spy: Spy,
    seen: list[AbstractIncomingMessage],
    order_id: UUID,
) -> None:
    """Kinguin refuses the order (out of stock): the reservation fails, nothing bought;
    then Kinguin sells the product again."""
    kinguin.sandbox.faults.update({"out_of_stock": [COUNTER_STRIKE]})
    await gateway.publish(request(order_id))
    await published(spy, "reservation.failed", 1, seen)
    kinguin.sandbox.faults.update({"out_of_stock": []})


async def bought_canceled_and_retried(
    gateway: Gateway,
    kinguin: Kinguin,
    spy: Spy,
    seen: list[AbstractIncomingMessage],
    order_id: UUID,
) -> tuple[str, str]:
    """The order is bought, Kinguin cancels it, fulfillment asks again: the canceled
    Kinguin order's id and its replacement's."""
    first_id = await reserved(gateway, spy, seen, order_id)
    await cancel_at_kinguin(gateway, kinguin, first_id)
    await published(spy, "kinguin.webhook", 1, seen)
    await gateway.publish(request(order_id))
    created = await published(spy, "reservation.created", 2, seen)
    return first_id, json.loads(created[1].body)["kinguin_order_id"]


async def test_a_retry_after_kinguin_canceled_buys_a_replacement_and_keeps_one_live_order(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    order_id = uuid4()
    seen: list[AbstractIncomingMessage] = []
    async with gateway.spy() as spy:
        first_id, replacement = await bought_canceled_and_retried(
            gateway, kinguin, spy, seen, order_id
        )

    assert replacement != first_id
    assert kinguin.live(order_id) == [f"{order_id}-2"]
    assert kinguin.calls("POST /v2/order") == 2
    assert await external_ids(gateway, order_id) == [
        (str(order_id), "canceled"),
        (f"{order_id}-2", "processing"),
    ]


async def test_a_crash_after_the_new_external_id_was_recorded_finds_its_order(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    order_id = uuid4()
    # Attempt 1 was refused; attempt 2 was recorded, bought, and the process died.
    async with gateway.runtime.unit_of_work() as uow:
        repository = ReservationRepository(uow.session)
        await repository.open(order_id, [{"qty": 2}])
        await repository.mark_failed(order_id, "product_unavailable", "out of stock")
        await repository.start_attempt(order_id)
        await uow.commit()
    bought = kinguin.sandbox.place_order([Requested(COUNTER_STRIKE, 2, None)], f"{order_id}-2")
    async with gateway.spy() as spy:
        await gateway.publish(request(order_id))
        [created] = await published(spy, "reservation.created", 1)
    assert json.loads(created.body)["kinguin_order_id"] == bought.order_id
    assert kinguin.calls("POST /v2/order") == 0
    assert kinguin.live(order_id) == [f"{order_id}-2"]


async def test_news_about_a_replaced_kinguin_order_is_recorded_but_not_forwarded(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    order_id = uuid4()
    seen: list[AbstractIncomingMessage] = []
    async with gateway.spy() as spy:
        first_id, _ = await bought_canceled_and_retried(gateway, kinguin, spy, seen, order_id)
        before = [m for m in seen if m.routing_key == "kinguin.webhook"]
        # A refund of the replaced order arrives late: kept, not forwarded.
        [old] = [o for o in kinguin.orders if o.order_id == first_id]
        old.status = "refunded"
        await notify(gateway, first_id, str(order_id), "refunded", 60)

        async def noted() -> bool:
            async with gateway.runtime.engine.connect() as connection:
                query = select(webhook_log.c.note).where(webhook_log.c.status == "refunded")
                return await connection.scalar(query) == "superseded"

        assert await eventually(noted)
        after = await published(spy, "kinguin.webhook", len(before), seen)
    # Only the replacement's own news (its completion) may follow; nothing about the old.
    assert all(json.loads(m.body)["kinguin_order_id"] != first_id for m in after[len(before) :])
    assert (await external_ids(gateway, order_id))[0] == (str(order_id), "refunded")
