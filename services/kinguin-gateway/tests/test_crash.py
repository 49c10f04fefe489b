"""Exactly one purchase across a crash: the gateway, a real process, is killed (SIGKILL)
after it committed `placing` and Kinguin recorded the order, before Kinguin's answer
arrived; restarted, it finds the order by our order id instead of buying again. And
exactly one key-return request (Kinguin accepts one per order) across the same crash."""

import json
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import httpx
import pytest
from aio_pika.abc import AbstractIncomingMessage
from gateway_processes import gateway_processes, publish
from kinguin_gateway_support import (
    API_KEY,
    COUNTER_STRIKE,
    published,
    request,
)
from pydantic import JsonValue
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from bitloot_contracts.events import KeysRevoked
from bitloot_kinguin_gateway.adapters.orm import key_returns, reservations
from bitloot_kinguin_gateway.adapters.repository import ReservationRepository
from bitloot_runtime.topology import Topology
from bitloot_sandbox_kinguin.config import KinguinSandboxConfig
from bitloot_sandbox_kinguin.sandbox import Requested
from bitloot_sandbox_kinguin.server import running_app
from bitloot_testing.bus import eventually, spy_on
from bitloot_testing.rabbitmq import BusNamespace

# Long enough to kill the gateway while it waits, shorter than its 15 s call timeout.
HOLD_SECONDS = 10
# The purchase's: the restarted gateway waits out twice the call timeout after the
# purchase was sent before it believes a look-up, so the timeout is short here.
PURCHASE_HOLD_SECONDS, PURCHASE_TIMEOUT = 4, {"KINGUIN_TIMEOUT": "6"}


async def state_of(database_url: str, order_id: UUID) -> str | None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            query = select(reservations.c.state).where(reservations.c.order_id == order_id)
            return await connection.scalar(query)
    finally:
        await engine.dispose()


@pytest.mark.slow
async def test_a_gateway_killed_while_kinguin_answers_buys_once_and_announces_once(
    database_url: str, bus_prefix: BusNamespace, tmp_path: Path
) -> None:
    order_id = uuid4()
    config = KinguinSandboxConfig(api_key=API_KEY, port=0, webhook_delay=0.05)
    seen: list[AbstractIncomingMessage] = []
    async with (
        running_app(config) as (kinguin_url, app),
        gateway_processes(
            database_url, bus_prefix, kinguin_url, tmp_path, PURCHASE_TIMEOUT
        ) as start,
        spy_on(
            bus_prefix.amqp_url, bus_prefix.prefix, Topology(bus_prefix.prefix).exchange.name
        ) as spy,
    ):
        sandbox = app.state.sandbox
        sandbox.faults.update({"hold_order_answer_seconds": PURCHASE_HOLD_SECONDS})
        first = start()
        await first.ready()

        async def ordered() -> bool:
            return "POST /v2/order" in sandbox.calls

        await publish(bus_prefix, request(order_id))
        assert await eventually(ordered, timeout=30)
        await first.killed()
        # Killed between the two: `placing` committed, Kinguin's answer never received.
        assert await state_of(database_url, order_id) == "placing"

        await start().ready()
        [created] = await published(spy, "reservation.created", 1, seen)
        assert await state_of(database_url, order_id) == "placed"
        async with httpx.AsyncClient(base_url=kinguin_url) as http:
            ledger = (await http.get("/sandbox/ledger")).json()
    mine = [order for order in ledger if order["orderExternalId"] == str(order_id)]
    assert len(mine) == 1
    assert mine[0]["duplicate_attempts"] == 0
    assert json.loads(created.body)["kinguin_order_id"] == mine[0]["orderId"]
    assert sandbox.calls.count("POST /v2/order") == 1
    assert [m.routing_key for m in seen].count("reservation.created") == 1


async def key_return_state(database_url: str, kinguin_order_id: str) -> str | None:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            query = select(key_returns.c.state).where(
                key_returns.c.kinguin_order_id == kinguin_order_id
            )
            return await connection.scalar(query)
    finally:
        await engine.dispose()


async def record_fulfilled(database_url: str, order_id: UUID, kinguin_order_id: str) -> None:
    """The order as the gateway recorded it: bought, completed, its keys sent on."""
    engine = create_async_engine(database_url)
    try:
        async with AsyncSession(engine) as session, session.begin():
            repository = ReservationRepository(session)
            line: dict[str, JsonValue] = {"kinguin_product_id": COUNTER_STRIKE, "qty": 2}
            line["max_unit_price"] = "3"
            await repository.open(order_id, [line])
            await repository.mark_placed(order_id, kinguin_order_id, "processing")
            await repository.record_status(
                order_id, kinguin_order_id, "completed", datetime.now(UTC)
            )
            await repository.record_keys(order_id, 2, "buyer@example.com")
    finally:
        await engine.dispose()


@pytest.mark.slow
async def test_a_gateway_killed_while_kinguin_returns_the_keys_never_asks_twice(
    database_url: str, bus_prefix: BusNamespace, tmp_path: Path
) -> None:
    order_id = uuid4()
    config = KinguinSandboxConfig(api_key=API_KEY, port=0, webhook_delay=0.05)
    async with (
        running_app(config) as (kinguin_url, app),
        gateway_processes(database_url, bus_prefix, kinguin_url, tmp_path) as start,
    ):
        sandbox = app.state.sandbox
        order = sandbox.place_order([Requested(COUNTER_STRIKE, 2, None)], str(order_id))
        await sandbox.idle()
        first = start()
        await first.ready()
        await record_fulfilled(database_url, order_id, order.order_id)
        sandbox.faults.update({"hold_return_answer_seconds": HOLD_SECONDS})
        call = f"POST /v2/order/{order.order_id}/keys/return"

        async def asked() -> bool:
            return call in sandbox.calls

        await publish(bus_prefix, KeysRevoked(order_id=order_id, key_count=2, revoked_by="admin"))
        assert await eventually(asked, timeout=30)
        await first.killed()
        # Killed between the two: the request committed, Kinguin's answer never received.
        assert await key_return_state(database_url, order.order_id) == "requested"

        await start().ready()

        async def settled() -> bool:
            return await key_return_state(database_url, order.order_id) != "requested"

        assert await eventually(settled, timeout=60)
    assert sandbox.calls.count(call) == 1
    assert await key_return_state(database_url, order.order_id) == "returned"
    assert [slot.status for slot in order.slots] == ["RETURNED", "RETURNED"]
