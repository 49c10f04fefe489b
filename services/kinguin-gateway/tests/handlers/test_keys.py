"""keys.requested on the real bus: every key, text or image, sealed so that only delivery
can read it; asked for again while Kinguin has not issued them all."""

import json
from decimal import Decimal
from uuid import UUID, uuid4

from kinguin_gateway_support import COUNTER_STRIKE, GIFT_CARD, Gateway, Kinguin, published

from bitloot_contracts.events import KeysDelivered, KeysRequested, ReservationLine
from bitloot_kinguin_gateway.adapters.repository import ReservationRepository
from bitloot_runtime.sealing import unseal
from bitloot_sandbox_kinguin.store import Order
from bitloot_testing.bus import eventually


async def completed(gateway: Gateway, kinguin: Kinguin, order_id: UUID) -> Order:
    """An order of three keys (the sandbox makes every third one an image), placed and
    recorded as the reservation handler would, then completed by Kinguin."""
    lines = [
        ReservationLine(kinguin_product_id=COUNTER_STRIKE, qty=2, max_unit_price=Decimal("3")),
        ReservationLine(kinguin_product_id=GIFT_CARD, qty=1, max_unit_price=Decimal("11")),
    ]
    order = kinguin.place(order_id, [(COUNTER_STRIKE, 2), (GIFT_CARD, 1)])
    async with gateway.runtime.unit_of_work() as uow:
        repository = ReservationRepository(uow.session)
        await repository.open(order_id, [line.model_dump(mode="json") for line in lines])
        await repository.mark_placed(order_id, order.order_id, "processing")
        await uow.commit()
    await kinguin.sandbox.idle()
    assert order.status == "completed"
    return order


async def test_text_and_image_keys_reach_delivery_sealed_with_their_type_and_nowhere_in_clear(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    order_id = uuid4()
    order = await completed(gateway, kinguin, order_id)
    request = KeysRequested(
        order_id=order_id, kinguin_order_id=order.order_id, customer_email="Buyer@Example.com"
    )
    async with gateway.spy() as spy:
        await gateway.publish(request)
        await gateway.publish(request)
        [message] = await published(spy, "keys.delivered", 1)
    delivered = KeysDelivered.model_validate_json(message.body)
    assert (delivered.key_count, delivered.customer_email) == (3, "buyer@example.com")
    opened = json.loads(unseal(delivered.sealed, gateway.delivery_keys, order_id))
    assert opened == {
        "keys": [
            {"type": k.type, "value": k.serial, "product_id": k.product_id} for k in order.keys
        ]
    }
    assert {k["type"] for k in opened["keys"]} == {"text/plain", "image/png"}
    for key in order.keys:
        assert key.serial.encode() not in message.body


async def test_keys_are_asked_for_again_until_kinguin_has_issued_all_of_them(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    order_id = uuid4()
    order = await completed(gateway, kinguin, order_id)
    held_back = order.keys.pop()
    request = KeysRequested(
        order_id=order_id, kinguin_order_id=order.order_id, customer_email="b@example.com"
    )
    keys_call = f"GET /v2/order/{order.order_id}/keys"
    async with gateway.spy() as spy:
        await gateway.publish(request)

        async def asked() -> bool:
            return kinguin.calls(keys_call) >= 1

        assert await eventually(asked)
        order.keys.append(held_back)
        [message] = await published(spy, "keys.delivered", 1)
    assert KeysDelivered.model_validate_json(message.body).key_count == 3
    assert kinguin.calls(keys_call) >= 2
