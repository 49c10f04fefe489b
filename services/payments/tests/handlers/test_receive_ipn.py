"""NOWPayments IPNs through the edge, with the service on the real database and bus."""

import json
import random

import httpx
import pytest
from payments_support import (
    SECRET,
    ipn,
    new_order,
    of_topic,
    order_row,
    results,
    scalar,
    send,
    settled,
    watching,
)
from sqlalchemy import func, select

from bitloot_payments.adapters.ipn_signature import sign
from bitloot_payments.adapters.orm import flags, ipn_log, payments
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.tables import outbox
from bitloot_testing.rabbitmq import BusNamespace


async def row_counts(runtime: ServiceRuntime) -> dict[str, int]:
    """Rows that an applied IPN would have written: payments, flags, outbox events about an
    order (filling the catalog announces its products, about no order)."""
    counts = {}
    async with runtime.engine.connect() as connection:
        for table in (payments, flags, outbox):
            query = select(func.count()).select_from(table)
            if table is outbox:
                query = query.where(outbox.c.order_id.is_not(None))
            counts[table.name] = int(await connection.scalar(query) or 0)
    return counts


async def test_a_payment_that_finishes_publishes_payment_finished_once_with_its_lines(
    client: httpx.AsyncClient, runtime: ServiceRuntime, bus_prefix: BusNamespace
) -> None:
    order_id = await new_order(client)
    async with watching(runtime, bus_prefix) as spy:
        for status in ("waiting", "confirming", "finished", "finished"):
            answer = await send(client, ipn(order_id, status))
            assert (answer.status_code, answer.json()) == (200, {"status": "ok"})
        messages = await spy.collect(expected=4, timeout=15)
    [finished] = of_topic(messages, "payment.finished")
    assert finished["order_id"] == order_id
    assert (finished["payment_id"], finished["amount"]) == ("5077125051", "25")
    assert (finished["currency"], finished["customer_email"]) == ("usd", "buyer@example.com")
    # Version 2: each line names its product in the catalog's words (for delivery's email
    # and reveal page) and the platform whose redemption help the reveal page shows;
    # version 3 lets internationalised addresses travel.
    assert finished["schema_version"] == 3
    assert finished["lines"] == [
        {
            "sku": "g-1",
            "kinguin_product_id": "k-g-1",
            "qty": 2,
            "max_unit_price": "9",
            "title": "Game g-1",
            "platform": "Steam",
        }
    ]
    changes = of_topic(messages, "payment.status_changed")
    assert [c["status"] for c in changes] == ["waiting", "confirming", "finished"]
    row = await order_row(runtime, order_id)
    assert (row["status"], row["payment_status"]) == ("paid", "finished")
    assert [r[2] for r in await results(runtime)] == ["applied", "applied", "paid", "duplicate"]


async def test_a_status_older_than_the_known_one_changes_nothing(
    client: httpx.AsyncClient, runtime: ServiceRuntime, bus_prefix: BusNamespace
) -> None:
    order_id = await new_order(client)
    async with watching(runtime, bus_prefix) as spy:
        await send(client, ipn(order_id, "finished"))
        await send(client, ipn(order_id, "confirming"))
        messages = await spy.collect(expected=2, timeout=15)
    assert len(of_topic(messages, "payment.finished")) == 1
    assert [m["status"] for m in of_topic(messages, "payment.status_changed")] == ["finished"]
    row = await order_row(runtime, order_id)
    assert (row["status"], row["payment_status"]) == ("paid", "finished")
    assert [r[2] for r in await results(runtime)] == ["paid", "stale"]


async def test_a_forged_or_unsigned_ipn_is_refused_logged_and_changes_nothing(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    order_id = await new_order(client)
    forged = await send(client, ipn(order_id, "finished"), secret="guessed-secret")
    assert (forged.status_code, forged.json()["error"]) == (401, "invalid_signature")
    unsigned = await client.post("/payments/ipn", json=ipn(order_id, "finished"))
    assert unsigned.status_code == 401
    row = await order_row(runtime, order_id)
    assert (row["status"], row["payment_status"]) == ("invoiced", None)
    assert await results(runtime) == [(False, False, "invalid_signature")] * 2
    assert await row_counts(runtime) == {"payments": 0, "flags": 0, "outbox": 0}


async def test_malformed_and_oversized_ipns_change_nothing(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    order_id = await new_order(client)
    body = json.dumps(ipn(order_id, "finished")).encode()
    signature = sign(body, SECRET)
    for content in (body[:-1], b"[" + body + b"]", body + b" " * (64 * 1024)):
        answer = await client.post(
            "/payments/ipn", content=content, headers={"x-nowpayments-sig": signature}
        )
        assert answer.status_code in (400, 413)
    assert (await order_row(runtime, order_id))["status"] == "invoiced"
    assert [r[2] for r in await results(runtime)] == ["malformed_json", "not_an_object"]
    assert await row_counts(runtime) == {"payments": 0, "flags": 0, "outbox": 0}


async def test_an_ipn_signed_with_the_previous_secret_is_accepted_during_rotation(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    order_id = await new_order(client)
    document = ipn(order_id, "confirming")
    body = json.dumps(document).encode()
    answer = await client.post(
        "/payments/ipn",
        content=body,
        headers={"x-nowpayments-signature": sign(body, "ipn-secret-previous")},
    )
    assert answer.status_code == 200
    await settled(runtime)
    assert (await order_row(runtime, order_id))["payment_status"] == "confirming"


async def test_a_finished_payment_of_the_wrong_amount_or_currency_does_not_pay_the_order(
    client: httpx.AsyncClient, runtime: ServiceRuntime, bus_prefix: BusNamespace
) -> None:
    short, other_coin = await new_order(client), await new_order(client)
    async with watching(runtime, bus_prefix) as spy:
        await send(client, ipn(short, "finished", price_amount=24.99))
        await send(client, ipn(other_coin, "finished", payment_id=7, price_currency="eur"))
        messages = await spy.collect(expected=2, timeout=15)
    assert of_topic(messages, "payment.finished") == []
    assert (await order_row(runtime, short))["status"] == "invoiced"
    assert [r[2] for r in await results(runtime)] == ["amount_mismatch", "currency_mismatch"]


async def test_malformed_and_unknown_order_ipns_are_logged_without_effect(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    malformed = await client.post("/payments/ipn", content=b"{not json", headers={})
    assert (malformed.status_code, malformed.json()["error"]) == (400, "malformed_json")
    unknown = await send(client, ipn("0b5c5f0e-5a1c-4d1e-9a52-3b0c7c1b1a10", "finished"))
    assert unknown.status_code == 200
    too_big = await client.post("/payments/ipn", content=b"x" * (64 * 1024 + 1))
    assert too_big.status_code == 413
    assert [r[2] for r in await results(runtime)] == ["malformed_json", "unknown_order"]


async def flags_of(admin: httpx.AsyncClient, order_id: str) -> list[str]:
    answer = await admin.get("/internal/flags", params={"order_id": order_id})
    return [flag["kind"] for flag in answer.json()["items"]]


async def test_partially_paid_does_not_pay_and_is_flagged_for_admins(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    bus_prefix: BusNamespace,
    admin: httpx.AsyncClient,
) -> None:
    order_id = await new_order(client)
    async with watching(runtime, bus_prefix) as spy:
        await send(client, ipn(order_id, "partially_paid", actually_paid=20))
        messages = await spy.collect(expected=1, timeout=15)
    assert of_topic(messages, "payment.finished") == []
    assert (await order_row(runtime, order_id))["status"] == "invoiced"
    assert await flags_of(admin, order_id) == ["partially_paid"]
    path = f"/internal/orders/{order_id}/timeline"
    timeline = (await admin.get(path)).json()["items"]
    [flagged] = [item for item in timeline if item["kind"] == "flagged"]
    assert flagged["data"]["flag"] == "partially_paid"


async def test_a_finished_payment_that_paid_less_than_asked_does_not_pay(
    client: httpx.AsyncClient, runtime: ServiceRuntime, admin: httpx.AsyncClient
) -> None:
    order_id = await new_order(client)
    await send(client, ipn(order_id, "finished", actually_paid=25.09))
    assert [r[2] for r in await results(runtime)] == ["underpaid"]
    assert (await order_row(runtime, order_id))["status"] == "invoiced"
    assert await flags_of(admin, order_id) == ["underpaid"]


async def test_a_redeposit_is_logged_and_flagged_but_never_delivered(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    bus_prefix: BusNamespace,
    admin: httpx.AsyncClient,
) -> None:
    order_id = await new_order(client)
    async with watching(runtime, bus_prefix) as spy:
        await send(client, ipn(order_id, "finished"))
        await send(
            client, ipn(order_id, "finished", payment_id=5077125099, parent_payment_id=5077125051)
        )
        messages = await spy.collect(expected=3, timeout=15)
    assert len(of_topic(messages, "payment.finished")) == 1
    assert [r[2] for r in await results(runtime)] == ["paid", "redeposit"]
    assert await flags_of(admin, order_id) == ["redeposit"]


async def test_an_ipn_for_an_unknown_order_is_answered_200_logged_and_flagged(
    client: httpx.AsyncClient, runtime: ServiceRuntime, admin: httpx.AsyncClient
) -> None:
    unknown = "0b5c5f0e-5a1c-4d1e-9a52-3b0c7c1b1a10"
    answer = await send(client, ipn(unknown, "finished"))
    assert answer.status_code == 200
    assert await results(runtime) == [(True, False, "unknown_order")]
    flagged = await admin.get("/internal/flags", params={"kind": "unknown_order"})
    [flag] = flagged.json()["items"]
    assert (flag["payment_id"], flag["order_id"]) == ("5077125051", None)
    assert unknown in flag["detail"]


async def test_the_raw_body_is_stored_byte_for_byte(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    order_id = await new_order(client)
    body = json.dumps(ipn(order_id, "waiting", price_amount="25.00"), indent=1).encode()
    await client.post(
        "/payments/ipn", content=body, headers={"x-nowpayments-sig": sign(body, SECRET)}
    )
    await settled(runtime)
    assert await scalar(runtime, select(ipn_log.c.raw_body)) == body


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_a_shuffled_sequence_with_duplicates_pays_once_through_the_edge(
    client: httpx.AsyncClient, runtime: ServiceRuntime, bus_prefix: BusNamespace, seed: int
) -> None:
    order_id = await new_order(client)
    statuses = ["waiting", "confirming", "confirmed", "sending", "finished"]
    sequence = [*statuses, *random.Random(seed).choices(statuses, k=5)]
    random.Random(seed).shuffle(sequence)
    async with watching(runtime, bus_prefix) as spy:
        for status in sequence:
            assert (await send(client, ipn(order_id, status))).status_code == 200
        await settled(runtime)
        messages = await spy.collect(expected=2, timeout=15)
    assert len(of_topic(messages, "payment.finished")) == 1
    row = await order_row(runtime, order_id)
    assert (row["status"], row["payment_status"]) == ("paid", "finished")
    logged = await results(runtime)
    assert len(logged) == 10
    assert sum(duplicate for _, duplicate, _ in logged) == 5
