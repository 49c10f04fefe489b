"""The admin's home page in headless Chromium against the five services running for
real: after one order fulfilled and one failed (Kinguin sold out meanwhile), the page
shows the figures, the failed order under "needs action" linking to its page, and the
charts as inline SVG; it fits a 1440 px window and a 390 px phone without sideways
scrolling."""

from pathlib import Path

import httpx
from browser import DESKTOP, PHONE, horizontal_overflow, log_in
from playwright.async_api import Browser, Page, ViewportSize
from test_admin_ui import Services, fulfilled_order, wait_for

from bitloot_launch import catalog
from bitloot_launch.inprocess import ADMIN_USER, Stack


async def failed_order(services: Services) -> str:
    """An order Kinguin refuses to sell (sold out since the catalog showed stock): the
    saga fails having bought nothing."""
    _sku, _title, product_id, _price, _ceiling = catalog.CATALOG[1]
    stack = services.stack
    faults = {"out_of_stock": [product_id]}
    answer = await services.http.post(f"{stack.kinguin_sandbox}/sandbox/faults", json=faults)
    assert answer.status_code < 300, answer.text
    order_id, _email = await catalog.place_order(services.http, stack, 1)

    async def failed() -> bool:
        return await services.saga_state(order_id) == "failed"

    await wait_for(failed, "the sold-out order to fail")
    return order_id


async def figure(page: Page, name: str) -> int:
    text = await page.inner_text(f"[data-figure='{name}'] [data-period='today']")
    return int(text.replace(",", ""))


async def test_the_home_page_shows_the_day_what_needs_action_and_charts(
    stack: Stack, browser: Browser, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        services = Services(http, stack)
        await fulfilled_order(services)
        failed = await failed_order(services)

    desktop = ViewportSize(width=DESKTOP["width"], height=DESKTOP["height"])
    phone = ViewportSize(width=PHONE["width"], height=PHONE["height"])
    page = await browser.new_page(viewport=desktop)
    await log_in(page, stack.admin, stack.admin_password, ADMIN_USER, stack.admin_totp_secret)

    assert await figure(page, "placed") >= 2
    assert await figure(page, "fulfilled") >= 1
    assert await figure(page, "failed") >= 1
    assert "Incomplete" not in await page.inner_text("main")
    charts = page.locator("figure.chart svg:visible")
    assert await charts.count() == 4
    assert await page.locator("script[src]").count() == 0
    await page.screenshot(path=str(tmp_path / "home-desktop.png"), full_page=True)
    assert await horizontal_overflow(page) == 0

    await page.set_viewport_size(phone)
    await page.screenshot(path=str(tmp_path / "home-phone.png"), full_page=True)
    assert await horizontal_overflow(page) == 0
    assert await charts.count() == 4

    await page.set_viewport_size(desktop)
    action = page.locator(f"#needs-action a[href='/admin/orders/{failed}']")
    assert "failed" in await action.inner_text()
    await action.click()
    await page.wait_for_url(f"**/admin/orders/{failed}")
    assert failed in await page.inner_text("main")
