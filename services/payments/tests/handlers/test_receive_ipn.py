"""NOWPayments IPNs through the edge, with the service on the real database and bus; how
an applied IPN moves its order is tested on the in-memory unit of work (test_ipns_on_fakes)."""

import json

import httpx
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
