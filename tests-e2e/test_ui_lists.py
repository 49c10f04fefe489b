"""The admin's lists in headless Chromium against the five services running for real:
with an order Kinguin would not sell failed, the order list's "Failed" preset and its
fulfilment select find it (the old status filter answered "No orders."), and every list
page fits a 1440 px window and reads on a 390 px phone, measured in the page (issue #21,
point 2). Screenshots go to $UI_SCREENSHOTS if set (to look at), else the test's tmp."""

import os
from pathlib import Path

import httpx
from browser import DESKTOP, PHONE, horizontal_overflow, log_in
from playwright.async_api import Browser, Page, ViewportSize
from test_admin_ui import Services, parked_webhook, wait_for

from bitloot_launch import catalog
from bitloot_launch.inprocess import ADMIN_USER, Stack
from bitloot_testing.rabbitmq import BusNamespace

LIST_PAGES = (
    "orders",
    "payments",
    "ipns",
    "flags",
    "refunds",
    "reservations",
    "webhooks",
    "sagas",
    "dead-letters",
    "audit",
)


def _size(size: dict[str, int]) -> ViewportSize:
    return ViewportSize(width=size["width"], height=size["height"])


def _screenshots(tmp_path: Path) -> Path:
    shots = Path(os.environ.get("UI_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    return shots


async def _orders(http: httpx.AsyncClient, stack: Stack) -> tuple[str, str]:
    """(a fulfilled order, an order that failed: Kinguin had its product out of stock)."""
    auth = {"Authorization": f"Bearer {stack.internal_token}"}
    await catalog.seed_catalog(http, stack)
    good, _email = await catalog.place_order(http, stack, 1)
    _sku, _title, refused_product, _price, _ceiling = catalog.CATALOG[0]
    faults = await http.post(
        f"{stack.kinguin_sandbox}/sandbox/faults", json={"out_of_stock": [refused_product]}
    )
    assert faults.status_code < 300, faults.text
    failed, _email = await catalog.place_order(http, stack, 0)

    async def recorded() -> bool:
        answer = await http.get(
            f"{stack.payments}/internal/orders", params={"fulfilment": "failed"}, headers=auth
        )
        states = await catalog.states_of(http, stack, [good])
        found = [item["order_id"] for item in answer.json()["items"]]
        return found == [failed] and states.get(good) == "fulfilled"

    await wait_for(recorded, "one order failed and one fulfilled", timeout=90)
    return good, failed


async def _listed(page: Page) -> set[str]:
    """The order ids the order list links to."""
    hrefs = await page.eval_on_selector_all(
        "#orders tbody a[href^='/admin/orders/']", "links => links.map(a => a.pathname)"
    )
    return {str(href).rsplit("/", 1)[1] for href in hrefs}


async def test_the_failed_preset_and_the_fulfilment_filter_find_a_failed_order_and_lists_fit(
    stack: Stack, bus_prefix: BusNamespace, browser: Browser, tmp_path: Path
) -> None:
    shots = _screenshots(tmp_path)
    async with httpx.AsyncClient(timeout=10) as http:
        # A parked message, so that the dead letters page has a row to lay out (its order
        # is paid on the bus, not through payments, so the order list does not show it).
        await catalog.seed_catalog(http, stack)
        await parked_webhook(Services(http, stack), bus_prefix)
        good, failed = await _orders(http, stack)

    page = await browser.new_page(viewport=_size(DESKTOP))
    await log_in(page, stack.admin, stack.admin_password, ADMIN_USER, stack.admin_totp_secret)
    await page.goto(f"{stack.admin}/admin/orders")
    assert await _listed(page) == {good, failed}

    await page.click("nav.presets a:text-is('Failed')")
    await page.wait_for_url("**/admin/orders?preset=failed")
    assert await _listed(page) == {failed}
    row = page.locator("#orders tbody tr")
    assert "failed" in await row.locator("td[data-label=Fulfilment]").inner_text()

    await page.goto(f"{stack.admin}/admin/orders")
    await page.select_option("select[name=fulfilment]", "failed")
    await page.click("form.filters button[type=submit]")
    await page.wait_for_url("**fulfilment=failed**")
    assert await _listed(page) == {failed}
    await page.select_option("select[name=fulfilment]", "fulfilled")
    await page.click("form.filters button[type=submit]")
    await page.wait_for_url("**fulfilment=fulfilled**")
    assert await _listed(page) == {good}

    # The failed order's line, by its product's title, not as JSON.
    await page.goto(f"{stack.admin}/admin/reservations?order_id={failed}")
    assert catalog.CATALOG[0][1] in await page.inner_text("main")

    for size_name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        await page.set_viewport_size(_size(size))
        for name in LIST_PAGES:
            shown = await page.goto(f"{stack.admin}/admin/{name}")
            assert shown is not None
            assert shown.status == 200, name
            await page.screenshot(path=str(shots / f"{name}-{size_name}.png"), full_page=True)
            assert await horizontal_overflow(page) == 0, f"{name} overflows at {size_name}"
            assert "Incomplete" not in await page.inner_text("main"), name
