"""keys.requested on the real bus: every key, sealed so that only delivery can read it."""

import json
from decimal import Decimal
from uuid import UUID, uuid4

from kinguin_gateway_support import Gateway, StandInKinguin, published

from bitloot_contracts.events import KeysDelivered, KeysRequested, ReservationLine
from bitloot_kinguin_gateway.adapters.repository import ReservationRepository
from bitloot_runtime.sealing import unseal
from bitloot_testing.bus import eventually


async def placed(gateway: Gateway, kinguin: StandInKinguin, order_id: UUID) -> str:
    lines = [
        ReservationLine(kinguin_product_id="prod-a", qty=2, max_unit_price=Decimal("3")),
        ReservationLine(kinguin_product_id="prod-b", qty=1, max_unit_price=Decimal("10")),
    ]
    order = kinguin.place(str(order_id), {"prod-a": 2, "prod-b": 1})
    async with gateway.runtime.unit_of_work() as uow:
        repository = ReservationRepository(uow.session)
        await repository.add_placing(order_id, [line.model_dump(mode="json") for line in lines])
        await repository.mark_placed(order_id, order.order_id, "processing")
        await uow.commit()
    kinguin.complete(order.order_id)
    return order.order_id


async def test_the_keys_kinguin_issued_reach_delivery_sealed_and_nowhere_in_clear(
    gateway: Gateway, kinguin: StandInKinguin
) -> None:
    order_id = uuid4()
    kinguin_order_id = await placed(gateway, kinguin, order_id)
    request = KeysRequested(
        order_id=order_id, kinguin_order_id=kinguin_order_id, customer_email="Buyer@Example.com"
    )
    async with gateway.spy() as spy:
        await gateway.publish(request)
        await gateway.publish(request)
        [message] = await published(spy, "keys.delivered", 1)
    delivered = KeysDelivered.model_validate_json(message.body)
    assert (delivered.key_count, delivered.customer_email) == (3, "buyer@example.com")
    opened = json.loads(unseal(delivered.sealed, gateway.delivery_keys, order_id))
    issued = kinguin.orders[kinguin_order_id].keys
    assert opened == {
        "keys": [
            {"type": k["type"], "value": k["serial"], "product_id": k["productId"]} for k in issued
        ]
    }
    for key in issued:
        assert key["serial"].encode() not in message.body


async def test_keys_are_asked_for_again_until_kinguin_has_issued_all_of_them(
    gateway: Gateway, kinguin: StandInKinguin
) -> None:
    order_id = uuid4()
    kinguin_order_id = await placed(gateway, kinguin, order_id)
    held_back = kinguin.orders[kinguin_order_id].keys.pop()
    request = KeysRequested(
        order_id=order_id, kinguin_order_id=kinguin_order_id, customer_email="b@example.com"
    )
    async with gateway.spy() as spy:
        await gateway.publish(request)
        keys_path = f"GET /v2/order/{kinguin_order_id}/keys"

        async def asked() -> bool:
            return keys_path in kinguin.calls

        assert await eventually(asked)
        kinguin.orders[kinguin_order_id].keys.append(held_back)
        [message] = await published(spy, "keys.delivered", 1)
    assert KeysDelivered.model_validate_json(message.body).key_count == 3
