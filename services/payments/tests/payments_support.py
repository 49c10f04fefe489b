"""Helpers shared by the payments tests: IPNs as NOWPayments sends them, and waiting for
the IPN processor to apply what the edge stored."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import httpx
from aio_pika.abc import AbstractIncomingMessage
from sqlalchemy import Executable, func, select, update

from bitloot_payments.adapters.ipn_signature import sign
from bitloot_payments.adapters.orm import ipn_log, orders
from bitloot_runtime.service import ServiceRuntime
from bitloot_testing.bus import Spy, eventually, spy_on
from bitloot_testing.rabbitmq import BusNamespace

SECRET = "ipn-secret-current"
# What a late payment's flag records of the payment `ipn` describes, which had expired.
LATE_PAYMENT = {
    "price_amount": "25",
    "price_currency": "usd",
    "pay_amount": "25.1",
    "actually_paid": "25.1",
    "pay_currency": "usdttrc20",
    "payment_was": "expired",
}


def ipn(order_id: str, status: str, **changes: object) -> dict[str, object]:
    """An IPN as NOWPayments sends it for an order of 25 usd."""
    return {
        "payment_id": 5077125051,
        "invoice_id": 4522625844,
        "payment_status": status,
        "pay_address": "TNDFkiSmBQorNFacb3735q8MnT29sn8BLn",
        "price_amount": 25,
        "price_currency": "usd",
        "pay_amount": 25.1,
        "actually_paid": 25.1 if status == "finished" else 0,
        "pay_currency": "usdttrc20",
        "order_id": order_id,
        "order_description": f"BitLoot order {order_id}",
        "purchase_id": "5837122679",
        "outcome_amount": 24.8,
        "outcome_currency": "usdttrc20",
        "created_at": "2026-11-23T10:00:00.000Z",
        "updated_at": "2026-11-23T10:05:00.000Z",
        **changes,
    }


async def checkout(client: httpx.AsyncClient) -> dict[str, Any]:
    """An order of two of `g-1` (25 usd), invoiced: what the checkout answered."""
    body = {"email": "buyer@example.com", "lines": [{"sku": "g-1", "qty": 2}]}
    answer = await client.post("/orders", json=body)
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


async def new_order(client: httpx.AsyncClient) -> str:
    """An order of two of `g-1` (25 usd), invoiced; its id."""
    return str((await checkout(client))["order_id"])


async def send(
    client: httpx.AsyncClient, document: dict[str, object], secret: str = SECRET
) -> httpx.Response:
    body = json.dumps(document).encode()
    headers = {"x-nowpayments-sig": sign(body, secret), "content-type": "application/json"}
    return await client.post("/payments/ipn", content=body, headers=headers)


async def settled(runtime: ServiceRuntime) -> None:
    """Wait until the IPN processor has applied every IPN stored so far."""

    pending = select(func.count()).where(ipn_log.c.processed_at.is_(None))

    async def none_pending() -> bool:
        return bool(await scalar(runtime, pending) == 0)

    assert await eventually(none_pending, timeout=15), "IPNs still pending"


async def scalar(runtime: ServiceRuntime, query: Executable) -> Any:
    """`query`'s one value, read on a connection of its own."""
    async with runtime.engine.connect() as connection:
        return await connection.scalar(query)


async def fetch(runtime: ServiceRuntime, query: Executable) -> list[dict[str, Any]]:
    """The rows `query` reads, on a connection of its own."""
    async with runtime.engine.connect() as connection:
        return [dict(row._mapping) for row in await connection.execute(query)]


async def execute(runtime: ServiceRuntime, statement: Executable) -> None:
    """`statement` in a transaction of its own: a change behind the service's back."""
    async with runtime.engine.begin() as connection:
        await connection.execute(statement)


async def set_order(runtime: ServiceRuntime, order_id: str, **values: object) -> None:
    """The order's row changed behind the service's back."""
    await execute(
        runtime, update(orders).where(orders.c.order_id == UUID(order_id)).values(**values)
    )


async def count_orders(runtime: ServiceRuntime) -> int:
    return int(await scalar(runtime, select(func.count()).select_from(orders)) or 0)


async def order_row(runtime: ServiceRuntime, order_id: str) -> dict[str, Any]:
    [row] = await fetch(runtime, select(orders).where(orders.c.order_id == order_id))
    return row


async def results(runtime: ServiceRuntime) -> list[tuple[bool, bool, str]]:
    """(signature valid, duplicate, result) of every IPN logged, oldest first."""
    await settled(runtime)
    query = select(ipn_log.c.signature_valid, ipn_log.c.duplicate, ipn_log.c.result)
    rows = await fetch(runtime, query.order_by(ipn_log.c.id))
    return [(r["signature_valid"], r["duplicate"], r["result"]) for r in rows]


@asynccontextmanager
async def watching(runtime: ServiceRuntime, bus: BusNamespace) -> AsyncIterator[Spy]:
    """A spy on the events the service publishes from now on."""
    async with spy_on(bus.amqp_url, bus.prefix, runtime.topology.exchange.name) as spy:
        yield spy


def of_topic(messages: list[AbstractIncomingMessage], topic: str) -> list[dict[str, Any]]:
    return [json.loads(m.body) for m in messages if m.routing_key == topic]
