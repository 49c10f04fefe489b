"""Headless Chromium for the browser tests (Playwright), and what they measure in a page."""

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, async_playwright

from bitloot_testing.totp import authenticator

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium's own connections are refused here.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


async def log_in(
    page: Page, admin_url: str, password: str, user: str = "admin", totp_secret: str = ""
) -> None:
    """Log `page` in to the admin at `admin_url`, with the code of `totp_secret`'s app
    when the account has a second factor (an owner); it lands on the home page."""
    await page.goto(f"{admin_url}/admin/login")
    await page.fill("input[name=username]", user)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    if totp_secret:
        await page.fill("input[name=code]", authenticator(totp_secret).code())
        await page.click("button[type=submit]")
    await page.wait_for_url("**/admin/")


async def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than its window (0: nothing to scroll
    sideways), measured in the page."""
    width: int = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return width
