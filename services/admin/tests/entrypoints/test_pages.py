"""The server-rendered pages, as a browser with a session cookie sees them."""

import httpx
from admin_support import StandIns, at


async def test_the_orders_page_lists_orders_with_links_escaping_what_services_send(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = stand_ins.add_order("<b>x</b>@example.com", 0)
    page = await browser.get("/admin/orders")
    assert page.status_code == 200
    assert f'href="/admin/orders/{order_id}"' in page.text
    assert "&lt;b&gt;x&lt;/b&gt;@example.com" in page.text
    assert "<b>x</b>" not in page.text
    assert page.headers["cache-control"] == "no-store"


async def test_the_orders_page_links_to_the_next_page_keeping_the_filters(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    stand_ins.add_order("a@example.com", 0)
    stand_ins.add_order("a@example.com", 10)
    page = await browser.get("/admin/orders", params={"email": "a@example.com", "limit": "1"})
    assert "cursor=" in page.text
    assert "email=a%40example.com" in page.text


async def test_an_order_page_shows_the_timeline_and_a_banner_when_a_service_is_down(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = stand_ins.add_order("a@example.com", 0)
    item = {"at": at(1), "kind": "saga_started", "summary": "Saga <started>", "data": {}}
    stand_ins.timelines = {"fulfillment": {str(order_id): [item]}}
    stand_ins.failing.add("delivery")
    page = await browser.get(f"/admin/orders/{order_id}")
    missing = await browser.get("/admin/orders/00000000-0000-0000-0000-000000000000")
    assert page.status_code == 200
    assert "Saga &lt;started&gt;" in page.text
    assert "Incomplete: no answer from delivery" in page.text
    # The product by its catalog title, its SKU beside it.
    assert "1 \N{MULTIPLICATION SIGN} Game g-1 <code" in page.text
    assert missing.status_code == 404


async def test_admin_redirects_to_the_home_page(browser: httpx.AsyncClient) -> None:
    answer = await browser.get("/admin")
    assert (answer.status_code, answer.headers["location"]) == (303, "/admin/")
