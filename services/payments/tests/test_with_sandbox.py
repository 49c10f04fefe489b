"""The whole payment path against the NOWPayments sandbox: our client creates the
invoice, the sandbox pays it and calls our IPN endpoint with signed callbacks."""

import json

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from bitloot_payments.bootstrap import build
from bitloot_payments.settings import Settings
from bitloot_sandbox_nowpayments.app import create_app
from bitloot_sandbox_nowpayments.config import NowPaymentsSandboxConfig
from bitloot_testing.bus import eventually, spy_on
from bitloot_testing.rabbitmq import BusNamespace


async def test_an_order_paid_in_the_sandbox_publishes_payment_finished_once(
    settings: Settings, bus_prefix: BusNamespace, internal_headers: dict[str, str]
) -> None:
    apps: list[ASGIApp] = []

    # The sandbox calls our edge, which is built after it: forward once it exists.
    async def payments_edge(scope: Scope, receive: Receive, send: Send) -> None:
        await apps[0](scope, receive, send)

    config = NowPaymentsSandboxConfig(
        api_key=settings.nowpayments_api_key.get_secret_value(),
        ipn_secret=settings.nowpayments_ipn_secret.get_secret_value(),
        auto_pay=True,
        ipn_delay=0.05,
    )
    sandbox = create_app(config, callback_transport=httpx.ASGITransport(app=payments_edge))
    runtime, app = build(settings, nowpayments_transport=httpx.ASGITransport(app=sandbox))
    apps.append(app)
    bus_prefix.track_services(["payments"], settings.retry_delays)
    await runtime.start()
    try:
        async with (
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://t"
            ) as client,
            spy_on(bus_prefix.amqp_url, bus_prefix.prefix, runtime.topology.exchange.name) as spy,
        ):
            product = {
                "title": "G",
                "kinguin_product_id": "k-1",
                "price": "12.50",
                "currency": "usd",
                "max_purchase_price": "9",
                "active": True,
            }
            await client.put("/internal/products/g-1", json=product, headers=internal_headers)
            answer = await client.post(
                "/orders", json={"email": "a@example.com", "lines": [{"sku": "g-1", "qty": 1}]}
            )
            assert answer.status_code == 201, answer.text
            created = answer.json()
            token = {"token": created["order_token"]}

            async def paid() -> bool:
                order = await client.get(f"/orders/{created['order_id']}", params=token)
                return bool(order.json()["status"] == "paid")

            assert await eventually(paid, timeout=15)
            await sandbox.state.sandbox.idle()
            messages = await spy.collect(expected=1, timeout=10)
        finished = [json.loads(m.body) for m in messages if m.routing_key == "payment.finished"]
        assert [f["order_id"] for f in finished] == [created["order_id"]]
        assert (finished[0]["amount"], finished[0]["currency"]) == ("12.5", "usd")
    finally:
        await sandbox.state.sandbox.aclose()
        await runtime.stop()
