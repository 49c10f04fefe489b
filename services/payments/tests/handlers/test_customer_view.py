"""The customer's order page tells the story the live status tells: payments hears the
saga's states from the bus (in any order, any number of times) and speaks of them in the
shared vocabulary."""

from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
from payments_support import checkout, ipn, send, settled

from bitloot_contracts.events import OrderState, OrderStatusChanged
from bitloot_runtime.service import ServiceRuntime
from bitloot_testing.bus import eventually

T0 = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)


async def placed(client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    created = await checkout(client)
    return created["order_id"], {"authorization": f"Bearer {created['order_token']}"}


async def told(client: httpx.AsyncClient, order_id: str, token: dict[str, str]) -> str:
    answer = await client.get(f"/orders/{order_id}", headers=token)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["customer_status"])


async def saga(runtime: ServiceRuntime, order_id: str, state: OrderState, second: int) -> None:
    event = OrderStatusChanged(
        order_id=UUID(order_id), status=state, occurred_at=T0 + timedelta(seconds=second)
    )
    await runtime.publisher.publish(event)


async def test_the_order_page_follows_payment_then_fulfilment_in_the_shared_words(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    order_id, token = await placed(client)
    assert await told(client, order_id, token) == "awaiting_payment"
    await send(client, ipn(order_id, "finished"))
    await settled(runtime)
    assert await told(client, order_id, token) == "payment_received"
    # Delivered, then a late and a repeated older state: the page stays at delivered.
    history: list[tuple[OrderState, int]] = [
        ("reserving", 2),
        ("fulfilled", 9),
        ("delivering", 7),
        ("reserving", 2),
    ]
    for state, second in history:
        await saga(runtime, order_id, state, second)

    async def delivered() -> bool:
        return await told(client, order_id, token) == "delivered"

    assert await eventually(delivered, timeout=10)
    await saga(runtime, order_id, "keys_requested", 5)
    page = (await client.get(f"/orders/{order_id}", headers=token)).json()
    assert (page["customer_status"], page["fulfilment_state"]) == ("delivered", "fulfilled")


async def test_an_order_with_money_an_admin_must_judge_is_under_review(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    order_id, token = await placed(client)
    await send(client, ipn(order_id, "partially_paid", actually_paid=3))
    await settled(runtime)
    assert await told(client, order_id, token) == "under_review"


async def test_a_failed_saga_is_failed_on_the_order_page_too(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    order_id, token = await placed(client)
    await send(client, ipn(order_id, "finished"))
    await settled(runtime)
    await saga(runtime, order_id, "failed", 1)

    async def failed() -> bool:
        return await told(client, order_id, token) == "failed"

    assert await eventually(failed, timeout=10)
