"""keys.revoked on the real bus: an admin refunded an order whose keys were never
revealed, and the gateway asks Kinguin to take the keys back, once per Kinguin order
(features/ReturnKeys.md: "You can send only one request for return keys for given
order"), records what came of it for an admin, and never asks outside Kinguin's rules."""

from uuid import UUID, uuid4

from kinguin_gateway_support import (
    Gateway,
    Kinguin,
    fulfilled_order,
    notify,
    published,
)
from sqlalchemy import select

from bitloot_contracts.events import KeysRevoked
from bitloot_kinguin_gateway.adapters.key_returns import KeyReturnRepository
from bitloot_kinguin_gateway.adapters.orm import webhook_log
from bitloot_kinguin_gateway.adapters.repository import ReservationRepository
from bitloot_sandbox_kinguin.store import Order
from bitloot_testing.bus import eventually


async def fulfilled(gateway: Gateway, kinguin: Kinguin) -> tuple[UUID, Order]:
    async with gateway.runtime.unit_of_work() as uow:
        found = await fulfilled_order(kinguin, ReservationRepository(uow.session))
        await uow.commit()
    return found


def revoked(order_id: UUID) -> KeysRevoked:
    return KeysRevoked(order_id=order_id, key_count=2, revoked_by="admin@bitloot", note="asked")


def return_call(order: Order) -> str:
    return f"POST /v2/order/{order.order_id}/keys/return"


async def handled(gateway: Gateway, *events: KeysRevoked) -> None:
    for event in events:
        await gateway.publish(event)
    for event in events:
        assert await eventually(lambda e=event: gateway.handled(e))  # type: ignore[misc]


async def key_returns(gateway: Gateway, order_id: UUID) -> list[dict[str, object]]:
    """What the admin sees: the reservation view's `key_returns`."""
    response = await gateway.http.get(
        f"/internal/reservations/{order_id}",
        headers={"Authorization": "Bearer gateway-test-internal-token"},
    )
    assert response.status_code == 200, response.text
    answer: list[dict[str, object]] = response.json()["key_returns"]
    return answer


async def test_keys_revoked_twice_asks_kinguin_once_and_the_admin_sees_them_returned(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    order_id, order = await fulfilled(gateway, kinguin)
    first = revoked(order_id)
    # The same message redelivered, and a second revocation event for the order.
    again = first.model_copy(update={"event_id": uuid4()})
    await handled(gateway, first, first, again)

    assert kinguin.calls(return_call(order)) == 1
    assert [slot.status for slot in order.slots] == ["RETURNED", "RETURNED"]
    [seen] = await key_returns(gateway, order_id)
    assert (seen["kinguin_order_id"], seen["state"], seen["key_count"]) == (
        order.order_id,
        "returned",
        2,
    )
    assert seen["requested_by"] == "admin@bitloot"
    timeline = await gateway.http.get(
        f"/internal/orders/{order_id}/timeline",
        headers={"Authorization": "Bearer gateway-test-internal-token"},
    )
    kinds = [item["kind"] for item in timeline.json()["items"]]
    assert kinds[-2:] == ["key_return_requested", "key_return_returned"]


async def recorded_then_crashed(gateway: Gateway, order_id: UUID, order: Order) -> None:
    """The state a run leaves when killed after committing the request, answer unknown."""
    async with gateway.runtime.unit_of_work() as uow:
        await KeyReturnRepository(uow.session).add(
            order.order_id, order_id, "requested", requested_by="admin@bitloot"
        )
        await uow.commit()


async def test_a_request_recorded_but_never_answered_is_never_sent_again(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    order_id, order = await fulfilled(gateway, kinguin)
    await recorded_then_crashed(gateway, order_id, order)
    await handled(gateway, revoked(order_id))

    # Kinguin shows no return: it may still have the request; an admin must check.
    assert kinguin.calls(return_call(order)) == 0
    assert kinguin.calls(f"GET /v1/order/{order.order_id}") == 1
    [seen] = await key_returns(gateway, order_id)
    assert (seen["state"], seen["reason"]) == ("unknown", "no_return_seen")


async def test_a_request_whose_answer_was_lost_is_found_carried_out_at_kinguin(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    order_id, order = await fulfilled(gateway, kinguin)
    await recorded_then_crashed(gateway, order_id, order)
    kinguin.sandbox.store.return_keys(order)  # Kinguin had it; its answer was lost.
    await handled(gateway, revoked(order_id))

    assert kinguin.calls(return_call(order)) == 0
    [seen] = await key_returns(gateway, order_id)
    assert (seen["state"], seen["key_count"]) == ("returned", 2)


async def test_kinguins_refunded_after_our_return_is_recorded_but_not_news_for_the_saga(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    order_id, order = await fulfilled(gateway, kinguin)
    await handled(gateway, revoked(order_id))
    async with gateway.spy() as spy:
        await notify(gateway, order.order_id, str(order_id), "refunded", 5)
        assert await published(spy, "kinguin.webhook", 0) == []
    async with gateway.runtime.engine.connect() as connection:
        query = select(webhook_log.c.applied, webhook_log.c.note).where(
            webhook_log.c.kinguin_order_id == order.order_id
        )
        assert (await connection.execute(query)).one() == (False, "keys_returned")
    async with gateway.runtime.unit_of_work() as uow:
        reservation = await ReservationRepository(uow.session).get(order_id)
    assert reservation is not None
    assert reservation.kinguin_status == "refunded"
