"""The customer's reveal page in headless Chromium (issue #21, point 6), against the five
services running for real: an order of a catalogue product is paid in the sandbox, and
the link in its key email opens a page that names the product (the title payments'
catalogue gave in payment.finished), shows the key with a working copy button and the
redemption help, and fits a desktop and a phone window without sideways scrolling."""

import asyncio
import re
from pathlib import Path

import httpx
from browser import DESKTOP, PHONE, horizontal_overflow
from playwright.async_api import Browser, ViewportSize, expect

from bitloot_launch import catalog
from bitloot_launch.infra import Mailbox
from bitloot_launch.inprocess import Stack


def size(window: dict[str, int]) -> ViewportSize:
    return ViewportSize(width=window["width"], height=window["height"])


async def emailed_link(mailbox: Mailbox, address: str, timeout: float = 60) -> str:
    deadline = asyncio.get_running_loop().time() + timeout
    while not (link := catalog.emailed_link(mailbox, address)):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no key email with a link to {address}")
        await asyncio.sleep(0.2)
    return link


async def test_the_reveal_page_names_the_product_copies_the_key_and_fits_a_phone(
    stack: Stack, mailbox: Mailbox, browser: Browser, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        await catalog.seed_catalog(http, stack)
        order_id, address = await catalog.place_order(http, stack, 0)
    link = await emailed_link(mailbox, address)
    _sku, title, *_ = catalog.CATALOG[0]
    [mail] = mailbox.for_recipient(address)
    for part in ("plain", "html"):
        body = mail.message.get_body(preferencelist=(part,))
        assert body is not None
        assert order_id in body.get_content()
        assert title in body.get_content()

    # One reveal per viewport: each opens the same keys (every reveal is audited).
    for name, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context = await browser.new_context(viewport=size(viewport))
        await context.grant_permissions(["clipboard-read", "clipboard-write"])
        page = await context.new_page()
        answer = await page.goto(link)
        assert answer is not None
        assert answer.status == 200
        section = page.locator("section.card").first
        assert await section.locator("h2").inner_text() == title
        key = (await section.locator("code.key").first.inner_text()).strip()
        assert key
        copy = section.locator("button.copy").first
        assert await copy.is_visible(), "the copy script did not run (blocked by the CSP?)"
        await copy.click()
        # The clipboard answers asynchronously: wait for the button to say what it did.
        await expect(copy).to_have_text(re.compile("^(Copied|Selected: press Ctrl\\+C)$"))
        # The catalog says the product is redeemed on Steam: Steam's steps, not the general.
        help_title = section.locator("details summary")
        assert await help_title.inner_text() == "How to redeem on Steam"
        await help_title.click()
        assert await section.locator("details ol li").first.is_visible()
        assert order_id in await page.inner_text("main")
        await page.screenshot(path=str(tmp_path / f"reveal-{name}.png"), full_page=True)
        assert await horizontal_overflow(page) == 0, name
        await context.close()


async def test_without_javascript_the_key_is_text_and_no_dead_button_shows(
    stack: Stack, mailbox: Mailbox, browser: Browser
) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        await catalog.seed_catalog(http, stack)
        _order_id, address = await catalog.place_order(http, stack, 1)
    link = await emailed_link(mailbox, address)
    context = await browser.new_context(viewport=size(PHONE), java_script_enabled=False)
    page = await context.new_page()
    await page.goto(link)
    assert (await page.locator("code.key").first.inner_text()).strip()
    assert not await page.locator("button.copy").first.is_visible()
    assert await horizontal_overflow(page) == 0
    await context.close()
