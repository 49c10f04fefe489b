"""Late and odd payments through the edge: each raises a flag with its amounts, and only
a payment that covers the order pays it (once)."""

import httpx
from payments_support import ipn, new_order, of_topic, order_row, results, scalar, send, watching
from sqlalchemy import select

from bitloot_payments.adapters.orm import ipn_log
from bitloot_runtime.service import ServiceRuntime
from bitloot_testing.rabbitmq import BusNamespace


async def flags_of(admin: httpx.AsyncClient, order_id: str) -> list[dict[str, object]]:
    answer = await admin.get("/internal/flags", params={"order_id": order_id})
    items: list[dict[str, object]] = answer.json()["items"]
    return items


async def test_money_arriving_after_the_payment_expired_is_flagged_late_never_dropped(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    bus_prefix: BusNamespace,
    admin: httpx.AsyncClient,
) -> None:
    order_id = await new_order(client)
    async with watching(runtime, bus_prefix) as spy:
        await send(client, ipn(order_id, "waiting"))
        await send(client, ipn(order_id, "expired"))
        await send(client, ipn(order_id, "finished"))
        messages = await spy.collect(expected=2, timeout=10)
    assert of_topic(messages, "payment.finished") == []
    assert [r[2] for r in await results(runtime)] == ["applied", "applied", "late_payment"]
    assert (await order_row(runtime, order_id))["status"] == "failed"
    [flag] = await flags_of(admin, order_id)
    assert flag["kind"] == "late_payment"
    assert flag["data"] == {
        "price_amount": "25",
        "price_currency": "usd",
        "pay_amount": "25.1",
        "actually_paid": "25.1",
        "pay_currency": "usdttrc20",
        "payment_was": "expired",
    }


async def test_an_overpayment_is_fulfilled_and_the_difference_flagged(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    bus_prefix: BusNamespace,
    admin: httpx.AsyncClient,
) -> None:
    order_id = await new_order(client)
    async with watching(runtime, bus_prefix) as spy:
        await send(client, ipn(order_id, "finished", actually_paid=30))
        messages = await spy.collect(expected=2, timeout=10)
    assert [f["order_id"] for f in of_topic(messages, "payment.finished")] == [order_id]
    [flag] = await flags_of(admin, order_id)
    assert (flag["kind"], flag["data"]["difference"]) == ("overpaid", "4.9")  # type: ignore[index]


async def test_a_redeposit_naming_no_order_is_linked_to_its_order_through_its_parent(
    client: httpx.AsyncClient, runtime: ServiceRuntime, admin: httpx.AsyncClient
) -> None:
    """NOWPayments' own re-deposit example: ``order_id`` null, ``parent_payment_id`` set."""
    order_id = await new_order(client)
    await send(client, ipn(order_id, "finished"))
    redeposit = ipn(order_id, "finished", payment_id=123456789, parent_payment_id=5077125051)
    await send(client, {**redeposit, "order_id": None, "actually_paid": 15})
    assert [r[2] for r in await results(runtime)] == ["paid", "redeposit"]
    kinds = {(f["kind"], f["payment_id"]) for f in await flags_of(admin, order_id)}
    assert kinds == {("redeposit", "123456789")}
    linked = await scalar(
        runtime, select(ipn_log.c.order_id).where(ipn_log.c.payment_id == "123456789")
    )
    assert str(linked) == order_id
    timeline = await admin.get(f"/internal/orders/{order_id}/timeline")
    assert "redeposit" in [item["data"].get("result") for item in timeline.json()["items"]]


async def test_a_redeposit_to_a_payment_we_do_not_know_is_flagged_unknown(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    orphan = {**ipn("x", "finished", parent_payment_id=42), "order_id": None}
    assert (await send(client, orphan)).status_code == 200
    assert [r[2] for r in await results(runtime)] == ["unknown_order"]
