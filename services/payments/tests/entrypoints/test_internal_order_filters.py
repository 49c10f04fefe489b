"""The admin's order list filters on the statuses it shows (payment, fulfilment, refund,
customer) and offers presets: `status=failed` used to answer "no orders" while the list
showed a failed order, because it matched the order's own status, which no column shows
(issue #21). A value outside the known ones is refused, naming the filter."""

from datetime import UTC, datetime, timedelta

import httpx
from payments_support import fetch, new_order, set_order
from refund_support import TRON_ADDRESS, claim_token, failed, paid_order, refund_of, saga
from sqlalchemy import select

from bitloot_payments.adapters.orm import orders
from bitloot_payments.adapters.unit_of_work import PaymentsUnitOfWork
from bitloot_payments.handlers.fulfilment import RecordFulfilment
from bitloot_payments.handlers.refunds import RefundFailedOrder
from bitloot_runtime.service import ServiceRuntime

_AN_HOUR_AGO = datetime.now(UTC) - timedelta(hours=1)


async def listed(admin: httpx.AsyncClient, **params: str) -> list[str]:
    answer = await admin.get("/internal/orders", params=params)
    assert answer.status_code == 200, answer.text
    return [item["order_id"] for item in answer.json()["items"]]


async def test_the_shown_statuses_and_the_presets_find_their_orders(
    client: httpx.AsyncClient, runtime: ServiceRuntime, admin: httpx.AsyncClient
) -> None:
    waiting = await new_order(client)
    fresh = await paid_order(client, runtime)
    stuck = await paid_order(client, runtime)
    await set_order(runtime, stuck, paid_at=_AN_HOUR_AGO)
    delivered = await paid_order(client, runtime)
    await set_order(runtime, delivered, paid_at=_AN_HOUR_AGO)
    failing = await paid_order(client, runtime)
    async with PaymentsUnitOfWork(runtime.engine) as uow:
        await RecordFulfilment()(saga(delivered, "fulfilled", datetime.now(UTC)), uow)
        await RecordFulfilment()(saga(fresh, "reserving", datetime.now(UTC)), uow)
        # Fulfillment announces both: the saga's state, and the failure (a refund due).
        await RecordFulfilment()(saga(failing, "failed", datetime.now(UTC)), uow)
        await RefundFailedOrder()(failed(failing), uow)
        await uow.commit()
    await refund_of(runtime, failing)

    assert await listed(admin, fulfilment="failed") == [failing]
    assert await listed(admin, preset="failed") == [failing]
    assert [item for item in await listed(admin) if item == failing] == [failing]
    assert await listed(admin, fulfilment="fulfilled") == [delivered]
    assert await listed(admin, preset="stuck") == [stuck]
    assert await listed(admin, preset="refund_due") == [failing]
    assert await listed(admin, refund="due") == [failing]
    assert await listed(admin, customer="refund_due") == [failing]
    assert await listed(admin, customer="delivered") == [delivered]
    assert await listed(admin, customer="awaiting_payment") == [waiting]
    assert set(await listed(admin, payment="finished")) == {fresh, stuck, delivered, failing}
    assert await listed(admin, payment="waiting") == []
    # Nothing waits for an admin but the stuck order: the failed one's refund waits for
    # the customer's claim. Once claimed, an admin must approve it.
    assert await listed(admin, preset="needs_action") == [stuck]
    form = {"token": claim_token(int((await refund_of(runtime, failing))["id"]), failing)}
    await client.post("/refunds/claim", data={**form, "address": TRON_ADDRESS})
    assert await listed(admin, preset="needs_action") == [failing, stuck]
    assert await listed(admin, preset="refund_due", refund="claimed") == [failing]
    # Filters combine; the order's own status still filters, as before.
    assert await listed(admin, preset="stuck", fulfilment="failed") == []
    assert await listed(admin, status="invoiced") == [waiting]
    # Each item says the statuses the list shows.
    [item] = [
        item
        for item in (await admin.get("/internal/orders")).json()["items"]
        if item["order_id"] == failing
    ]
    assert (item["payment_status"], item["fulfilment_state"], item["refund_status"]) == (
        "finished",
        "failed",
        "claimed",
    )


async def test_a_customer_filter_pages_by_where_it_stopped_reading(
    client: httpx.AsyncClient, runtime: ServiceRuntime, admin: httpx.AsyncClient
) -> None:
    ids = [await new_order(client) for _ in range(3)]
    await paid_order(client, runtime)
    first = await admin.get("/internal/orders", params={"customer": "awaiting_payment", "limit": 2})
    assert [item["order_id"] for item in first.json()["items"]] == [ids[2], ids[1]]
    rest = await admin.get(
        "/internal/orders",
        params={"customer": "awaiting_payment", "limit": 2, "cursor": first.json()["cursor"]},
    )
    assert [item["order_id"] for item in rest.json()["items"]] == [ids[0]]
    assert rest.json()["cursor"] is None


async def test_an_unknown_value_is_refused_naming_the_filter_and_changes_nothing(
    client: httpx.AsyncClient, runtime: ServiceRuntime, admin: httpx.AsyncClient
) -> None:
    order_id = await paid_order(client, runtime)

    async def stored() -> list[dict[str, object]]:
        return await fetch(runtime, select(orders))

    before = await stored()
    for name, value in [
        ("fulfilment", "failure"),
        ("payment", "paid"),
        ("refund", "owed"),
        ("customer", "happy"),
        ("preset", "everything"),
    ]:
        answer = await admin.get("/internal/orders", params={name: value})
        assert answer.status_code == 422, (name, answer.text)
        body = answer.json()
        assert body["error"] == f"invalid_{name}"
        assert [field["field"] for field in body["fields"]] == [name]
    assert await stored() == before
    assert await listed(admin) == [order_id]
