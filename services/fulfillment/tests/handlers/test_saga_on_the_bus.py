"""The fulfillment service on real RabbitMQ and PostgreSQL: events in, events out."""

import base64
import json
from uuid import uuid4

from fulfillment_support import (
    completed,
    keys_requested,
    payment,
    publish,
    published,
    reported,
    reserved,
    saga_in_state,
    saga_row,
    spying,
)
from sqlalchemy import select, text

from bitloot_contracts.events import (
    KeysDelivered,
    SealedKeys,
)
from bitloot_fulfillment.adapters.orm import sagas
from bitloot_runtime.service import ServiceRuntime
from bitloot_testing.rabbitmq import BusNamespace


async def test_an_order_goes_from_paid_to_fulfilled_whatever_order_its_events_arrive_in(
    fulfillment: ServiceRuntime, bus_prefix: BusNamespace
) -> None:
    order_id = uuid4()
    async with spying(fulfillment, bus_prefix) as spy:
        # The reservation overtakes the payment that started it; then Kinguin's webhook
        # arrives before anything else says the order exists at Kinguin.
        await publish(fulfillment, reserved(order_id, "K-9"))
        await publish(fulfillment, payment(order_id))
        [request] = await published(spy, "reservation.requested", 1)
        assert json.loads(request.body)["lines"][0]["kinguin_product_id"] == "5c9b"
        webhook = reported(order_id, "K-9")
        await publish(fulfillment, webhook)
        await publish(fulfillment, webhook.model_copy(update={"event_id": uuid4()}))
        [keys] = await published(spy, "keys.requested", 1)
        assert json.loads(keys.body)["kinguin_order_id"] == "K-9"
        await publish(fulfillment, completed(order_id))
        await publish(fulfillment, completed(order_id))
        [done] = await published(spy, "order.fulfilled", 1)
    assert done.correlation_id == str(order_id)
    async with fulfillment.engine.connect() as connection:
        state = await connection.scalar(select(sagas.c.state).where(sagas.c.order_id == order_id))
    assert state == "fulfilled"
    assert await fulfillment.dead_letters.list() == []


async def test_keys_leaving_the_gateway_move_the_order_to_delivering_and_nothing_sealed_is_kept(
    fulfillment: ServiceRuntime, bus_prefix: BusNamespace
) -> None:
    order_id = uuid4()
    await keys_requested(fulfillment, order_id, "K-5")
    sealed = SealedKeys(
        suite="DHKEM(X25519)-HKDF-SHA256/HKDF-SHA256/AES-256-GCM",
        recipient_key_id="d1",
        enc=base64.b64encode(b"e" * 32).decode(),
        ciphertext=base64.b64encode(b"SEALED-CIPHERTEXT").decode(),
    )
    delivered = KeysDelivered(
        order_id=order_id,
        kinguin_order_id="K-5",
        customer_email="buyer@example.com",
        key_count=1,
        sealed=sealed,
    )
    await publish(fulfillment, delivered)
    await saga_in_state(fulfillment, order_id, "delivering")
    async with fulfillment.engine.connect() as connection:
        dump = await connection.scalar(
            text(
                "SELECT (SELECT string_agg(s::text, ' ') FROM sagas s)"
                " || (SELECT string_agg(t::text, ' ') FROM saga_transitions t)"
            )
        )
    assert sealed.ciphertext not in dump
    assert sealed.enc not in dump
    assert (await saga_row(fulfillment, order_id) or {})["keys_left_gateway"] is True
