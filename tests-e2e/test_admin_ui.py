"""The admin UI in headless Chromium against the five services running for real (real
RabbitMQ and PostgreSQL, moto's S3, aiosmtpd, both provider sandboxes): log in, find an
order, open its timeline, replay a parked message from the dead letters and see it
processed; and the admin's answers stay partial, never 500, with a service stopped."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import aio_pika
import httpx
from browser import log_in
from playwright.async_api import Browser

from bitloot_contracts.events import Event, KinguinWebhook, PaymentFinished
from bitloot_contracts.events.payment import OrderLine
from bitloot_launch import catalog
from bitloot_launch.inprocess import ADMIN_USER, Stack
from bitloot_runtime.topology import Topology
from bitloot_testing.rabbitmq import BusNamespace


async def wait_for(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 40) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def publish(bus: BusNamespace, event: Event) -> None:
    """Publish `event` as the services do (JSON body, ids in the AMQP properties)."""
    connection = await aio_pika.connect(bus.amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(Topology(bus.prefix).exchange.name)
        message = aio_pika.Message(
            event.model_dump_json().encode(),
            message_id=str(event.event_id),
            correlation_id=str(event.order_id),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await exchange.publish(message, routing_key=event.topic)


class Services:
    """The services' internal API and metrics, as the test inspects them."""

    def __init__(self, http: httpx.AsyncClient, stack: Stack) -> None:
        self.http = http
        self.stack = stack
        self.auth = {"Authorization": f"Bearer {stack.internal_token}"}

    async def saga_state(self, order_id: str) -> str | None:
        return (await catalog.states_of(self.http, self.stack, [order_id])).get(order_id)

    async def parked(self, order_id: str) -> list[dict[str, object]]:
        answer = await self.http.get(
            f"{self.stack.fulfillment}/internal/dead-letters", headers=self.auth
        )
        return [i for i in answer.json()["items"] if i["order_id"] == order_id]

    async def handled(self, queue: str) -> float:
        """How many messages fulfillment handled from `queue` (its consumed counter)."""
        text = (await self.http.get(f"{self.stack.fulfillment}/metrics")).text
        wanted = ("bitloot_messages_consumed_total", f'queue="{queue}"', 'outcome="ok"')
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(wanted[0]) and all(part in line for part in wanted[1:])
        )


async def fulfilled_order(services: Services) -> str:
    """An order placed through payments, paid by the sandbox, fulfilled end to end."""
    await catalog.seed_catalog(services.http, services.stack)
    order_id, _email = await catalog.place_order(services.http, services.stack, 0)

    async def done() -> bool:
        return await services.saga_state(order_id) == "fulfilled"

    await wait_for(done, "the order to be fulfilled")
    return order_id


async def parked_webhook(services: Services, bus: BusNamespace) -> KinguinWebhook:
    """A Kinguin status for an order fulfillment has no saga for yet: retried, then
    parked. Its payment then finishes, so a replay can be handled."""
    order_id = uuid.uuid4()
    stale = datetime(2020, 1, 1, tzinfo=UTC)
    webhook = KinguinWebhook(
        order_id=order_id, kinguin_order_id="KG-LATE", status="processing", updated_at=stale
    )
    await publish(bus, webhook)

    async def parked() -> bool:
        return bool(await services.parked(str(order_id)))

    await wait_for(parked, "the webhook to be parked")
    _sku, _title, product_id, price, ceiling = catalog.CATALOG[0]
    line = OrderLine(
        sku=_sku, kinguin_product_id=product_id, qty=1, max_unit_price=Decimal(ceiling)
    )
    paid = PaymentFinished(
        order_id=order_id,
        payment_id=f"np-{order_id.hex[:12]}",
        amount=Decimal(price),
        currency="usd",
        customer_email="late@demo.bitloot.test",
        lines=(line,),
    )
    await publish(bus, paid)

    async def fulfilled() -> bool:
        # Fulfilled: its own Kinguin webhooks are all in, the parked one is then stale.
        return await services.saga_state(str(order_id)) == "fulfilled"

    await wait_for(fulfilled, "the late order to be fulfilled")
    return webhook


async def test_an_admin_finds_an_order_reads_its_timeline_and_replays_a_parked_message(
    stack: Stack, bus_prefix: BusNamespace, browser: Browser, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        services = Services(http, stack)
        order_id = await fulfilled_order(services)
        webhook = await parked_webhook(services, bus_prefix)
        queue = Topology(bus_prefix.prefix).queue_name("fulfillment", webhook.topic)
        handled_before = await services.handled(queue)

        page = await browser.new_page(viewport={"width": 1366, "height": 768})
        await log_in(page, stack.admin, stack.admin_password, ADMIN_USER, stack.admin_totp_secret)
        await page.goto(f"{stack.admin}/admin/orders")

        await page.fill("input[name=order_id]", order_id)
        await page.click("form.filters button[type=submit]")
        await page.click(f"a[href='/admin/orders/{order_id}']")
        await page.wait_for_url(f"**/admin/orders/{order_id}")
        timeline = await page.inner_text("main")
        assert "Payment finished: " in timeline
        for service in ("payments", "kinguin-gateway", "fulfillment", "delivery"):
            assert service in timeline
        assert "Incomplete" not in timeline
        await page.screenshot(path=str(tmp_path / "order.png"), full_page=True)

        for view in ("payments", "ipns", "reservations", "webhooks"):
            listed = await page.goto(f"{stack.admin}/admin/{view}?order_id={order_id}")
            assert listed is not None
            assert listed.status == 200
            text = await page.inner_text("main")
            # The order's id shows shortened, linking to the order (issue #21).
            assert await page.locator(f"main a[href='/admin/orders/{order_id}']").count(), view
            assert "Incomplete" not in text
        for leaf, expected in (("key-audit", "items"), ("emails", "delivery")):
            shown = await page.goto(f"{stack.admin}/admin/orders/{order_id}/{leaf}")
            assert shown is not None
            assert shown.status == 200
            assert expected in await page.inner_text("main"), leaf
        await page.goto(f"{stack.admin}/admin/payments?order_id={order_id}")
        await page.click("main table tbody a >> nth=0")
        assert "ipns" in await page.inner_text("main")

        await page.click("a[href='/admin/dead-letters']")
        row = page.locator(f"tr.letter:has-text('{webhook.order_id}')")
        assert "parked" in await row.locator("td.state").inner_text()
        await page.screenshot(path=str(tmp_path / "dead-letters.png"), full_page=True)
        await row.locator("button", has_text="Replay").click()
        assert "Done: fulfillment accepted it." in await page.inner_text("#outcome")

        async def processed() -> bool:
            return await services.handled(queue) > handled_before

        await wait_for(processed, "the replayed webhook to be handled")
        await page.goto(f"{stack.admin}/admin/dead-letters?include_replayed=true")
        row = page.locator(f"tr.letter:has-text('{webhook.order_id}')")
        assert "replayed" in await row.locator("td.state").inner_text()
        letters = await services.parked(str(webhook.order_id))
        assert letters == []
        await page.goto(f"{stack.admin}/admin/health")
        # The admin understands the real gateway's balance (the sandbox's, far above the
        # default threshold), not only its own tests' stand-in.
        balance = await page.inner_text("#kinguin-balance")
        assert "EUR" in balance
        assert "OK" in balance
        await page.screenshot(path=str(tmp_path / "health.png"), full_page=True)
