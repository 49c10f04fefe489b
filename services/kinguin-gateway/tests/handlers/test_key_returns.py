"""keys.revoked on the real bus: an admin refunded an order whose keys were never
revealed, and the gateway asks Kinguin to take the keys back, once per Kinguin order
(features/ReturnKeys.md: "You can send only one request for return keys for given
order"), records what came of it for an admin, and never asks outside Kinguin's rules."""

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from kinguin_gateway_support import (
    COUNTER_STRIKE,
    GIFT_CARD,
    Gateway,
    Kinguin,
    notify,
    published,
)
from pydantic import JsonValue
from sqlalchemy import select

from bitloot_contracts.events import KeysRevoked, ReservationPoll
from bitloot_kinguin_gateway.adapters.key_returns import KeyReturnRepository
from bitloot_kinguin_gateway.adapters.orm import webhook_log
from bitloot_kinguin_gateway.adapters.repository import ReservationRepository
from bitloot_sandbox_kinguin.store import Order
from bitloot_testing.bus import eventually


async def fulfilled(
    gateway: Gateway,
    kinguin: Kinguin,
    *,
    product: str = COUNTER_STRIKE,
    qty: int = 2,
    completed_at: datetime | None = None,
    preorder: bool = False,
) -> tuple[UUID, Order]:
    """A new order Kinguin completed and whose keys went to delivery, recorded as the
    gateway records it (the completed webhook stamped `completed_at`); a `preorder`
    bought before its product's release, completed when it is released."""
    order_id = uuid4()
    if preorder:
        kinguin.sandbox.store.set_product(product, is_preorder=True)
    order = kinguin.place(order_id, [(product, qty)])
    if preorder:
        kinguin.sandbox.release(product)
    await kinguin.sandbox.idle()
    assert order.status == "completed"
    async with gateway.runtime.unit_of_work() as uow:
        repository = ReservationRepository(uow.session)
        line: dict[str, JsonValue] = {"kinguin_product_id": product, "qty": qty}
        await repository.open(order_id, [{**line, "max_unit_price": "100"}])
        await repository.mark_placed(order_id, order.order_id, "processing")
        at = completed_at or datetime.now(UTC)
        await repository.record_status(order_id, order.order_id, "completed", at)
        await repository.record_keys(order_id, qty, "buyer@example.com")
        await uow.commit()
    return order_id, order


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


async def test_kinguins_refusal_is_recorded_with_its_reason_and_not_retried(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    order_id, order = await fulfilled(gateway, kinguin)
    # Kinguin delivered the keys over 24 hours ago; our records (a late webhook) say less.
    assert order.delivered_at is not None
    order.delivered_at -= timedelta(hours=25)
    await handled(gateway, revoked(order_id))
    await handled(gateway, revoked(order_id))

    assert kinguin.calls(return_call(order)) == 1
    [seen] = await key_returns(gateway, order_id)
    assert seen["state"] == "refused"
    assert "no_keys_to_return" in str(seen["reason"])
    assert "24 hours" in str(seen["reason"])
    assert [slot.status for slot in order.slots] == ["DELIVERED", "DELIVERED"]


async def test_a_preorder_is_never_asked_for_and_recorded_not_returnable(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    order_id, order = await fulfilled(gateway, kinguin, product=GIFT_CARD, qty=1, preorder=True)
    await handled(gateway, revoked(order_id))

    assert kinguin.calls(return_call(order)) == 0
    [seen] = await key_returns(gateway, order_id)
    assert (seen["state"], seen["reason"]) == ("not_returnable", "preorder")


async def test_keys_delivered_over_24_hours_ago_by_our_records_are_not_asked_for(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    yesterday = datetime.now(UTC) - timedelta(hours=24, minutes=1)
    order_id, order = await fulfilled(gateway, kinguin, completed_at=yesterday)
    await handled(gateway, revoked(order_id))

    assert kinguin.calls(return_call(order)) == 0
    [seen] = await key_returns(gateway, order_id)
    assert (seen["state"], seen["reason"]) == ("not_returnable", "window_passed")


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


async def test_a_poll_finding_kinguins_refunded_after_our_return_does_not_report_it(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    order_id, order = await fulfilled(gateway, kinguin)
    await handled(gateway, revoked(order_id))
    order.status = "refunded"  # Kinguin closes the order it refunded.
    poll = ReservationPoll(order_id=order_id, attempt=1)
    async with gateway.spy() as spy:
        await gateway.publish(poll)
        assert await eventually(lambda: gateway.handled(poll))
        assert await published(spy, "kinguin.webhook", 0) == []
    async with gateway.runtime.unit_of_work() as uow:
        reservation = await ReservationRepository(uow.session).get(order_id)
    assert reservation is not None
    assert reservation.kinguin_status == "refunded"
