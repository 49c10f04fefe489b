"""The customer's order page in headless Chromium against the five services running for
real (real RabbitMQ and PostgreSQL, moto's S3, aiosmtpd, both provider sandboxes): opened
at the link the checkout answers before payment, it says "Awaiting payment"; the sandbox
pays, and the same open page, without a reload, goes through the payment and the key's
purchase to "Ready — check your email", over fulfillment's WebSocket. Without JavaScript
the page is right on each load. Screenshots at 1440 px and 390 px, nothing to scroll
sideways."""

import asyncio
from pathlib import Path
from typing import Any

import httpx
from browser import DESKTOP, PHONE, horizontal_overflow
from playwright.async_api import Browser, Page, ViewportSize

from bitloot_launch import catalog
from bitloot_launch.inprocess import Stack

READY = "Ready — check your email"
WIDE = ViewportSize(width=DESKTOP["width"], height=DESKTOP["height"])
NARROW = ViewportSize(width=PHONE["width"], height=PHONE["height"])
# Every status the page moves to, oldest first, as the page itself saw them.
WATCH_STATUS = """() => {
  const block = document.getElementById("status");
  window.seenStatuses = [block.dataset.status];
  new MutationObserver(() => {
    const now = block.dataset.status;
    if (window.seenStatuses[window.seenStatuses.length - 1] !== now) {
      window.seenStatuses.push(now);
    }
  }).observe(block, {attributes: true, attributeFilter: ["data-status"], childList: true});
  window.notReloaded = true;
}"""


async def checkout(http: httpx.AsyncClient, stack: Stack) -> dict[str, Any]:
    """Two products, as a customer orders them; the checkout's answer."""
    lines = [{"sku": "minecraft-java", "qty": 1}, {"sku": "cs-source", "qty": 2}]
    answer = await http.post(
        f"{stack.payments}/orders", json={"email": "page@demo.bitloot.test", "lines": lines}
    )
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


async def status_of(page: Page) -> str:
    status: str = await page.evaluate("document.getElementById('status').dataset.status")
    return status


async def shoot(page: Page, path: Path) -> None:
    """A full-page screenshot, once the page has nothing to scroll sideways."""
    assert await horizontal_overflow(page) == 0
    await page.screenshot(path=str(path), full_page=True)


async def test_the_order_page_goes_live_from_awaiting_payment_to_ready(
    stack: Stack, browser: Browser, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        await catalog.seed_catalog(http, stack)
        # The sandbox pays when the test says so, not at once.
        config = await http.post(
            f"{stack.nowpayments_sandbox}/sandbox/config", json={"auto_pay": False}
        )
        assert config.json()["auto_pay"] is False
        created = await checkout(http, stack)
        order_id, url = created["order_id"], created["order_url"]
        assert url == f"{stack.payments}/orders/{order_id}?token={created['order_token']}"
        invoices = (await http.get(f"{stack.nowpayments_sandbox}/sandbox/invoices")).json()
        [invoice] = [i for i in invoices if i["order_id"] == order_id]
        # NOWPayments sends the buyer back to this very page.
        assert invoice["success_url"].startswith(f"{stack.payments}/orders/{order_id}?token=")

        desktop = await browser.new_page(viewport=WIDE)
        phone = await browser.new_page(viewport=NARROW, device_scale_factor=2, is_mobile=True)
        for page in (desktop, phone):
            await page.goto(url)
            assert await status_of(page) == "awaiting_payment"
            status = page.locator("#status")
            assert (await status.locator("h2").inner_text()) == "Awaiting payment"
            assert (
                await status.get_by_role("link", name="Pay now").get_attribute("href")
                == (invoice["invoice_url"])
            )
            # The page says it follows the order once the socket is open.
            await page.locator("#live").wait_for(state="visible")
            await page.evaluate(WATCH_STATUS)
        items = desktop.locator("table")
        assert "Minecraft: Java Edition" in await items.inner_text()
        assert "Counter-Strike: Source (Steam)" in await items.inner_text()
        assert "Total" in await items.inner_text()
        await shoot(desktop, tmp_path / "order-awaiting-desktop.png")
        await shoot(phone, tmp_path / "order-awaiting-phone.png")

        paid = await http.post(
            f"{stack.nowpayments_sandbox}/sandbox/invoices/{invoice['id']}/pay", json={}
        )
        assert paid.status_code == 201, paid.text

        for page in (desktop, phone):
            await page.locator("#status h2", has_text=READY).wait_for(timeout=90_000)
            assert (await page.locator("#status h2").inner_text()) == READY
            assert await page.evaluate("window.notReloaded") is True
            seen = await page.evaluate("window.seenStatuses")
            assert seen[0] == "awaiting_payment"
            assert seen[-1] in ("delivered", "keys_ready")
            # On its way: the payment, then the purchase, each shown as it happened.
            assert {"payment_received", "delivering"} & set(seen[1:-1]), seen
            assert "Ready" in await page.locator("#steps [aria-current=step]").inner_text()
        await shoot(desktop, tmp_path / "order-ready-desktop.png")
        await shoot(phone, tmp_path / "order-ready-phone.png")

        # Without JavaScript the page is as right, on each load.
        context = await browser.new_context(java_script_enabled=False, viewport=NARROW)
        static = await context.new_page()
        await static.goto(url)
        assert (await static.locator("#status h2").inner_text()) == READY
        assert await static.locator("#live").is_hidden()
        await context.close()
        await asyncio.gather(desktop.close(), phone.close())
