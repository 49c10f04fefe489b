"""The customer's refund claim pages in headless Chromium against the five services
running for real: Kinguin refuses the product (out of stock), the paid order fails, and
the link in delivery's `refund_due` email opens the claim form, which names the order
number and the amount. A broken address comes back marked with its reason; a good one
ends on the "Refund claimed" page. Without JavaScript (the pages have none), at 1440 px
and 390 px, with nothing to scroll sideways; screenshots of each."""

import asyncio
import re
from pathlib import Path

import httpx
from browser import DESKTOP, PHONE, horizontal_overflow
from playwright.async_api import Browser, Page, ViewportSize

from bitloot_launch import catalog
from bitloot_launch.infra import Mailbox
from bitloot_launch.inprocess import Stack

CLAIM_LINK = re.compile(r"https?://\S+/refunds/claim\?token=[A-Za-z0-9._~%-]+")
# The sandbox's customers pay in USDT on TRON: a real TRON address, and the same with its
# last character changed (its checksum fails).
GOOD_TRON = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
BAD_TRON = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u"


async def claim_link(mailbox: Mailbox, address: str, timeout: float = 90) -> str:
    """The claim link in the first `refund_due` email to `address`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        for mail in mailbox.mails:
            if address in mail.recipients and mail.kind == "refund_due":
                body = mail.message.get_body(preferencelist=("plain",))
                found = CLAIM_LINK.search(body.get_content() if body is not None else "")
                assert found is not None
                return found.group(0)
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"no refund_due email to {address}")
        await asyncio.sleep(0.2)


async def shoot(page: Page, path: Path) -> None:
    """A full-page screenshot, once the page has nothing to scroll sideways."""
    assert await horizontal_overflow(page) == 0, path.name
    await page.screenshot(path=str(path), full_page=True)


async def test_the_claim_form_and_its_answer_fit_a_desktop_and_a_phone_without_javascript(
    stack: Stack, mailbox: Mailbox, browser: Browser, tmp_path: Path
) -> None:
    _sku, _title, kinguin_id, _price, _ceiling = catalog.CATALOG[0]
    async with httpx.AsyncClient(timeout=10) as http:
        await catalog.seed_catalog(http, stack)
        faults = await http.post(
            f"{stack.kinguin_sandbox}/sandbox/faults", json={"out_of_stock": [kinguin_id]}
        )
        assert faults.status_code < 300, faults.text
        order_id, address = await catalog.place_order(http, stack, 0)
    link = await claim_link(mailbox, address)
    number = order_id[:8].upper()

    pages: list[tuple[str, Page]] = []
    for name, window in (("desktop", DESKTOP), ("phone", PHONE)):
        viewport = ViewportSize(width=window["width"], height=window["height"])
        context = await browser.new_context(java_script_enabled=False, viewport=viewport)
        page = await context.new_page()
        answer = await page.goto(link)
        assert answer is not None
        assert answer.status == 200
        main = await page.inner_text("main")
        assert f"Refund for order {number}" in main, main
        assert "USDTTRC20" in main
        assert await page.get_by_role("button", name="Claim my refund").is_visible()
        await shoot(page, tmp_path / f"claim-form-{name}.png")
        pages.append((name, page))

    # A typo is refused with its reason, the field kept and marked.
    _name, desktop = pages[0]
    await desktop.fill("input[name=address]", BAD_TRON)
    await desktop.get_by_role("button", name="Claim my refund").click()
    assert "(address_checksum)" in await desktop.inner_text("[role=alert]")
    assert await desktop.get_attribute("input[name=address]", "aria-invalid") == "true"
    assert await desktop.input_value("input[name=address]") == BAD_TRON
    await shoot(desktop, tmp_path / "claim-refused-desktop.png")

    # The phone claims; its answer is the closed state "Refund claimed", without a form.
    _name, phone = pages[1]
    await phone.fill("input[name=address]", GOOD_TRON)
    await phone.get_by_role("button", name="Claim my refund").click()
    status = phone.locator("section.status")
    assert await status.locator("h2").inner_text() == "Refund claimed"
    assert await status.get_attribute("data-tone") == "money"
    assert await phone.locator("form").count() == 0
    assert number in await phone.inner_text("main")
    await shoot(phone, tmp_path / "claim-claimed-phone.png")
    # The same closed state on a desktop, from the link itself.
    await desktop.goto(link)
    assert await desktop.locator("section.status h2").inner_text() == "Refund claimed"
    await shoot(desktop, tmp_path / "claim-claimed-desktop.png")
    for _name, page in pages:
        await page.context.close()
