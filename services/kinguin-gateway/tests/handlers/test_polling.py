"""reservation.poll: Kinguin asked for the order's status when its webhook was lost."""

import json
from uuid import uuid4

from aio_pika.abc import AbstractIncomingMessage
from kinguin_gateway_support import Gateway, Kinguin, published, reserved

from bitloot_contracts.events import ReservationPoll
from bitloot_kinguin_gateway.adapters.repository import ReservationRepository
from bitloot_testing.bus import eventually


async def test_a_poll_reports_a_completion_whose_webhook_was_lost_and_only_once(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    order_id = uuid4()
    seen: list[AbstractIncomingMessage] = []
    async with gateway.spy() as spy:
        kinguin_order_id = await reserved(gateway, spy, seen, order_id)
        # The sandbox completes the order; it has no webhook URL, so nobody is told.
        await kinguin.sandbox.idle()
        poll = ReservationPoll(order_id=order_id, attempt=1)
        await gateway.publish(poll)
        [webhook] = await published(spy, "kinguin.webhook", 1, seen)
        again = poll.model_copy(update={"event_id": uuid4(), "attempt": 2})
        await gateway.publish(again)
        assert await eventually(lambda: gateway.handled(again))
        assert await published(spy, "kinguin.webhook", 1, seen) == [webhook]
    assert json.loads(webhook.body)["status"] == "completed"
    assert json.loads(webhook.body)["kinguin_order_id"] == kinguin_order_id
    assert kinguin.calls(f"GET /v1/order/{kinguin_order_id}") == 2


async def test_a_poll_before_kinguin_has_the_order_reports_nothing(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    order_id = uuid4()
    async with gateway.runtime.unit_of_work() as uow:
        await ReservationRepository(uow.session).open(order_id, [{"qty": 1}])
        await uow.commit()
    poll = ReservationPoll(order_id=order_id, attempt=1)
    async with gateway.spy() as spy:
        await gateway.publish(poll)
        assert await eventually(lambda: gateway.handled(poll))
        assert await published(spy, "kinguin.webhook", 0) == []
    assert kinguin.calls("GET /v1/order") == 1
