"""Helpers of the fulfillment tests: publishing events as their producers would, running
several instances, watching the bus, serving the app to a real WebSocket client."""

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import httpx
import uvicorn
from aio_pika.abc import AbstractIncomingMessage
from sqlalchemy import func, select, update
from starlette.applications import Starlette

from bitloot_contracts.events import (
    DeliveryCompleted,
    Event,
    KinguinOrderStatus,
    KinguinWebhook,
    PaymentFinished,
    RefundStatus,
    RefundStatusChanged,
    ReservationCreated,
    ReservationFailed,
)
from bitloot_contracts.events.payment import OrderLine
from bitloot_fulfillment.adapters.orm import saga_timers, sagas
from bitloot_fulfillment.bootstrap import build
from bitloot_fulfillment.settings import Settings
from bitloot_runtime.service import ServiceRuntime
from bitloot_testing.bus import Spy, eventually, spy_on
from bitloot_testing.net import free_port
from bitloot_testing.rabbitmq import BusNamespace

INTERNAL_TOKEN = "fulfillment-test-internal-token"


def client(app: Starlette, token: str | None = INTERNAL_TOKEN) -> httpx.AsyncClient:
    """A client of the service's HTTP app, holding the internal token unless told not to."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test", headers=headers
    )


async def publish(runtime: ServiceRuntime, event: Event) -> None:
    await runtime.publisher.publish(event)


def payment(order_id: UUID) -> PaymentFinished:
    line = OrderLine(sku="g-1", kinguin_product_id="5c9b", qty=1, max_unit_price=Decimal("9"))
    return PaymentFinished(
        order_id=order_id,
        payment_id="np-1",
        amount=Decimal("12.50"),
        currency="usdttrc20",
        customer_email="buyer@example.com",
        lines=(line,),
    )


def refund_report(
    order_id: UUID, status: RefundStatus, at: datetime, **extra: Any
) -> RefundStatusChanged:
    """Payments' report, made at `at`, that the order's refund (41 unless `extra` says
    otherwise) of its failed order is `status`."""
    values: dict[str, Any] = {
        "refund_id": 41,
        "reason": "order_failed",
        "cause": "reservation",
        "amount": Decimal("12.50"),
        "currency": "usdttrc20",
        "customer_email": "buyer@example.com",
    }
    return RefundStatusChanged(order_id=order_id, occurred_at=at, status=status, **(values | extra))


class Instances:
    """Fulfillment instances of one test, sharing its database and bus namespace."""

    def __init__(self, settings: Callable[..., Settings], bus: BusNamespace) -> None:
        self.settings = settings
        self._bus = bus
        self._running: list[ServiceRuntime] = []

    async def start(self, **overrides: Any) -> tuple[ServiceRuntime, Starlette]:
        settings = self.settings(**overrides)
        runtime, app = build(settings)
        self._bus.track_services(["fulfillment"], settings.retry_delays)
        await runtime.start()
        self._running.append(runtime)
        return runtime, app

    async def stop(self, runtime: ServiceRuntime) -> None:
        self._running.remove(runtime)
        await runtime.stop()

    async def stop_all(self) -> None:
        for runtime in list(self._running):
            await self.stop(runtime)


def reserved(
    order_id: UUID, kinguin_order_id: str, status: KinguinOrderStatus = "processing"
) -> ReservationCreated:
    return ReservationCreated(order_id=order_id, kinguin_order_id=kinguin_order_id, status=status)


def reported(
    order_id: UUID, kinguin_order_id: str, status: KinguinOrderStatus = "completed"
) -> KinguinWebhook:
    """Kinguin's webhook: its order for `order_id` is `status` now."""
    return KinguinWebhook(
        order_id=order_id,
        kinguin_order_id=kinguin_order_id,
        status=status,
        updated_at=datetime.now(UTC),
    )


def completed(order_id: UUID, *, email_sent: bool = True) -> DeliveryCompleted:
    return DeliveryCompleted(order_id=order_id, key_count=1, email_sent=email_sent)


async def keys_requested(runtime: ServiceRuntime, order_id: UUID, kinguin_order_id: str) -> None:
    """The order is paid and Kinguin's order completed: the saga asked for the keys."""
    await publish(runtime, payment(order_id))
    await publish(runtime, reserved(order_id, kinguin_order_id, "completed"))
    await saga_in_state(runtime, order_id, "keys_requested")


def spying(runtime: ServiceRuntime, bus_prefix: BusNamespace) -> AbstractAsyncContextManager[Spy]:
    """A spy on every message crossing the runtime's exchange."""
    return spy_on(bus_prefix.amqp_url, bus_prefix.prefix, runtime.topology.exchange.name)


def topics_of(messages: list[AbstractIncomingMessage]) -> list[str]:
    return [m.routing_key or "" for m in messages]


async def published(spy: Spy, topic: str, count: int) -> list[AbstractIncomingMessage]:
    """The messages of `topic` once `count` of them have been seen, plus any surplus
    that arrives in the second after (a duplicate would be seen)."""
    seen: list[AbstractIncomingMessage] = []

    async def enough() -> bool:
        seen.extend(await spy.collect(expected=0, timeout=0.3))
        return topics_of(seen).count(topic) >= count

    await eventually(enough, timeout=20)
    seen.extend(await spy.collect(expected=0, timeout=1.0))
    return [m for m in seen if m.routing_key == topic]


def body(message: AbstractIncomingMessage) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(message.body)
    return decoded


async def saga_row(runtime: ServiceRuntime, order_id: UUID) -> dict[str, Any] | None:
    async with runtime.engine.connect() as connection:
        row = (
            (await connection.execute(select(sagas).where(sagas.c.order_id == order_id)))
            .mappings()
            .first()
        )
    return None if row is None else dict(row)


async def saga_in_state(runtime: ServiceRuntime, order_id: UUID, state: str) -> None:
    """Wait until the order's saga reaches `state` (fails the test otherwise)."""

    async def reached() -> bool:
        row = await saga_row(runtime, order_id)
        return row is not None and row["state"] == state

    assert await eventually(reached, timeout=20), f"saga {order_id} never reached {state}"


async def failed_order(runtime: ServiceRuntime) -> UUID:
    """A new order, paid, whose reservation failed: its saga is `failed`."""
    order_id = uuid4()
    await publish(runtime, payment(order_id))
    await publish(runtime, ReservationFailed(order_id=order_id, code="out_of_stock", reason="0"))
    await saga_in_state(runtime, order_id, "failed")
    return order_id


async def refund_stored(runtime: ServiceRuntime, order_id: UUID, status: str) -> None:
    """Wait until the order's saga recorded its refund as `status`."""

    async def stored() -> bool:
        row = await saga_row(runtime, order_id)
        return row is not None and row["refund_status"] == status

    assert await eventually(stored, timeout=20), f"refund {status} never stored"


async def failed_with_refund(runtime: ServiceRuntime, *statuses: RefundStatus) -> UUID:
    """A failed order whose refund payments reported `statuses`, one a minute, the last
    of them recorded on the saga."""
    order_id, now = await failed_order(runtime), datetime.now(UTC)
    for minute, status in enumerate(statuses):
        await publish(runtime, refund_report(order_id, status, now + timedelta(minutes=minute)))
    await refund_stored(runtime, order_id, statuses[-1])
    return order_id


async def timers_of(runtime: ServiceRuntime, order_id: UUID) -> dict[str, int]:
    """The order's stored timers: kind → attempt."""
    async with runtime.engine.connect() as connection:
        rows = await connection.execute(
            select(saga_timers.c.kind, saga_timers.c.attempt).where(
                saga_timers.c.order_id == order_id
            )
        )
        return {row.kind: row.attempt for row in rows}


async def make_due(runtime: ServiceRuntime, order_id: UUID, kind: str) -> None:
    """Let the time of one stored timer pass (as if the instances had been down)."""
    async with runtime.engine.begin() as connection:
        changed = await connection.execute(
            update(saga_timers)
            .where(saga_timers.c.order_id == order_id, saga_timers.c.kind == kind)
            .values(due_at=func.now() - timedelta(seconds=1))
        )
    assert changed.rowcount == 1


@asynccontextmanager
async def serving(app: Starlette) -> AsyncIterator[str]:
    """`app` on a real HTTP/WebSocket server; yields its ws:// base URL. The runtime is
    started by the test's fixture, so the server does not run the app's lifespan."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_config=None)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        assert await eventually(_started(server), timeout=10)
        yield f"ws://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def _started(server: uvicorn.Server) -> Callable[[], Any]:
    async def check() -> bool:
        return server.started

    return check
