"""The service as bootstrap builds it, started by its lifespan, against the Kinguin sandbox
whose signed webhooks reach the gateway's app: an order bought once, completed by
webhook (duplicated and reordered by the sandbox), its keys delivered sealed."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from uuid import uuid4

import httpx
from aio_pika.abc import AbstractIncomingMessage
from kinguin_gateway_support import (
    API_KEY,
    WEBHOOK_SECRET,
    gateway_settings,
    publish,
    published,
    request,
    track,
)
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from bitloot_contracts.events import KeysDelivered, KeysRequested
from bitloot_kinguin_gateway.adapters.orm import webhook_log
from bitloot_kinguin_gateway.bootstrap import build
from bitloot_runtime.sealing import generate_key_pair, load_private_key, unseal
from bitloot_runtime.service import ServiceRuntime
from bitloot_sandbox_common.serving import serve
from bitloot_sandbox_kinguin.app import create_app
from bitloot_sandbox_kinguin.config import KinguinSandboxConfig
from bitloot_sandbox_kinguin.sandbox import KinguinSandbox
from bitloot_testing.bus import Spy, spy_on
from bitloot_testing.rabbitmq import BusNamespace


@dataclass
class Wired:
    runtime: ServiceRuntime
    app: Starlette
    sandbox: KinguinSandbox
    kinguin_url: str
    spy: Spy
    private_key: str


@asynccontextmanager
async def wired(database_url: str, bus: BusNamespace) -> AsyncIterator[Wired]:
    """The sandbox, its webhooks sent straight to the gateway's app, both running."""
    gateway: list[ASGIApp] = []

    async def to_gateway(scope: Scope, receive: Receive, send: Send) -> None:
        await gateway[0](scope, receive, send)

    config = KinguinSandboxConfig(
        api_key=API_KEY,
        webhook_secret=WEBHOOK_SECRET,
        webhook_url="http://gateway/kinguin/webhooks",
        webhook_delay=0.3,
        port=0,
    )
    sandbox = create_app(config, callback_transport=httpx.ASGITransport(app=to_gateway))
    private, public = generate_key_pair()
    async with serve(sandbox, "127.0.0.1", 0) as kinguin_url:
        runtime, app = build(gateway_settings(database_url, bus, kinguin_url, public))
        gateway.append(app)
        track(runtime, bus)
        exchange = runtime.topology.exchange.name
        async with (
            app.router.lifespan_context(app),
            spy_on(bus.amqp_url, bus.prefix, exchange) as spy,
        ):
            yield Wired(runtime, app, sandbox.state.sandbox, kinguin_url, spy, private)


async def test_an_order_is_bought_once_completed_by_webhook_and_its_keys_sealed(
    database_url: str, bus_prefix: BusNamespace
) -> None:
    order_id = uuid4()
    async with wired(database_url, bus_prefix) as it:
        # Delivered twice: the inbox lets the copy change nothing.
        event = request(order_id)
        await publish(it.runtime, event)
        await publish(it.runtime, event)
        seen: list[AbstractIncomingMessage] = []
        [created] = await published(it.spy, "reservation.created", 1, seen)
        [webhook] = await published(it.spy, "kinguin.webhook", 1, seen)
        kinguin_order_id = json.loads(created.body)["kinguin_order_id"]
        assert json.loads(webhook.body)["status"] == "completed"
        await publish(
            it.runtime,
            KeysRequested(
                order_id=order_id,
                kinguin_order_id=kinguin_order_id,
                customer_email="buyer@example.com",
            ),
        )
        [message] = await published(it.spy, "keys.delivered", 1, seen)
        async with httpx.AsyncClient(base_url=it.kinguin_url) as http:
            [order] = (await http.get("/sandbox/ledger")).json()
    assert order["orderId"] == kinguin_order_id
    assert order["orderExternalId"] == str(order_id)
    assert order["duplicate_attempts"] == 0
    delivered = KeysDelivered.model_validate_json(message.body)
    opened = json.loads(
        unseal(delivered.sealed, {"d1": load_private_key(it.private_key)}, order_id)
    )
    assert [key["value"] for key in opened["keys"]] == [key["serial"] for key in order["keys"]]
    assert delivered.key_count == 2


async def test_duplicated_and_reordered_webhooks_are_logged_and_only_the_news_applied(
    database_url: str, bus_prefix: BusNamespace
) -> None:
    order_id = uuid4()
    async with wired(database_url, bus_prefix) as it:
        # Each webhook twice, and a stale "processing" after "completed".
        it.sandbox.faults.update({"duplicate_callbacks": 1, "reorder_callbacks": True})
        await publish(it.runtime, request(order_id))
        seen: list[AbstractIncomingMessage] = []
        await published(it.spy, "reservation.created", 1, seen)
        await it.sandbox.idle()
        webhooks = await published(it.spy, "kinguin.webhook", 1, seen)
        async with it.runtime.engine.connect() as connection:
            query = select(
                webhook_log.c.status,
                webhook_log.c.duplicate,
                webhook_log.c.applied,
                webhook_log.c.note,
            ).order_by(webhook_log.c.id)
            logged = [tuple(row) for row in await connection.execute(query)]
    assert [json.loads(w.body)["status"] for w in webhooks] == ["completed"]
    assert logged == [
        ("completed", False, True, None),
        ("completed", True, False, "duplicate"),
        ("processing", False, False, "stale"),
        ("processing", True, False, "duplicate"),
    ]
    [order] = it.sandbox.store.orders.values()
    assert [hook.delivery.status_code for hook in order.webhooks] == [204] * 4
