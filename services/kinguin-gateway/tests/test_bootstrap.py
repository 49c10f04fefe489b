"""The service as bootstrap builds it, started by its lifespan, against the Kinguin sandbox:
an order bought once, completed by Kinguin's signed webhook, its keys delivered sealed."""

import json
from decimal import Decimal
from uuid import uuid4

import httpx
from aio_pika.abc import AbstractIncomingMessage
from kinguin_gateway_support import (
    API_KEY,
    WEBHOOK_SECRET,
    gateway_settings,
    publish,
    published,
    track,
)
from starlette.types import ASGIApp, Receive, Scope, Send

from bitloot_contracts.events import (
    KeysDelivered,
    KeysRequested,
    ReservationLine,
    ReservationRequested,
)
from bitloot_kinguin_gateway.bootstrap import build
from bitloot_runtime.sealing import generate_key_pair, load_private_key, unseal
from bitloot_sandbox_common.serving import serve
from bitloot_sandbox_kinguin.app import create_app
from bitloot_sandbox_kinguin.config import KinguinSandboxConfig
from bitloot_testing.bus import spy_on
from bitloot_testing.rabbitmq import BusNamespace

COUNTER_STRIKE = "5c9b5f6b2539a4e8f172916a"  # 2.50 EUR in the sandbox's catalogue


async def test_an_order_is_bought_once_completed_by_webhook_and_its_keys_sealed(
    database_url: str, bus_prefix: BusNamespace
) -> None:
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
        runtime, app = build(gateway_settings(database_url, bus_prefix, kinguin_url, public))
        gateway.append(app)
        track(runtime, bus_prefix)
        exchange = runtime.topology.exchange.name
        order_id = uuid4()
        line = ReservationLine(kinguin_product_id=COUNTER_STRIKE, qty=2, max_unit_price=Decimal(3))
        request = ReservationRequested(order_id=order_id, lines=(line,))
        async with (
            app.router.lifespan_context(app),
            spy_on(bus_prefix.amqp_url, bus_prefix.prefix, exchange) as spy,
        ):
            await publish(runtime, request)
            await publish(runtime, request.model_copy(update={"event_id": uuid4()}))
            seen: list[AbstractIncomingMessage] = []
            [created] = await published(spy, "reservation.created", 1, seen)
            [webhook] = await published(spy, "kinguin.webhook", 1, seen)
            kinguin_order_id = json.loads(created.body)["kinguin_order_id"]
            assert json.loads(webhook.body)["status"] == "completed"
            await publish(
                runtime,
                KeysRequested(
                    order_id=order_id,
                    kinguin_order_id=kinguin_order_id,
                    customer_email="buyer@example.com",
                ),
            )
            [message] = await published(spy, "keys.delivered", 1, seen)
        async with httpx.AsyncClient(base_url=kinguin_url) as http:
            [order] = (await http.get("/sandbox/ledger")).json()
    assert order["orderId"] == kinguin_order_id
    assert order["orderExternalId"] == str(order_id)
    assert order["duplicate_attempts"] == 0
    delivered = KeysDelivered.model_validate_json(message.body)
    opened = json.loads(unseal(delivered.sealed, {"d1": load_private_key(private)}, order_id))
    assert [key["value"] for key in opened["keys"]] == [key["serial"] for key in order["keys"]]
    assert delivered.key_count == 2
