"""The order list filters on the statuses it shows, with presets one click away, and
every list shows statuses as chips, times relative with the exact time on hover, amounts
with their currency and products by title (issue #21, point 2)."""

import re

import httpx
from admin_support import StandIns

from bitloot_admin.entrypoints.pages import ORDER_CHOICES, PRESET_WORDS
from bitloot_contracts.order_filters import ORDER_FILTERS, PRESETS


def _asked(stand_ins: StandIns) -> dict[str, str]:
    """What the order list last asked payments."""
    [params] = [dict(query) for service, query in stand_ins.queries if service == "payments"][-1:]
    return params


async def test_the_filters_are_selects_of_the_known_values_and_reach_payments(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    stand_ins.add_order("a@example.com", 0, fulfilment_state="failed", refund_status="due")
    page = await browser.get(
        "/admin/orders", params={"fulfilment": "failed", "payment": "finished", "limit": "1"}
    )
    assert page.status_code == 200
    assert _asked(stand_ins) == {"limit": "1", "payment": "finished", "fulfilment": "failed"}
    for name, known in ORDER_CHOICES.items():
        select = re.search(rf'<select name="{name}">(.*?)</select>', page.text, re.S)
        assert select, name
        assert re.findall(r'<option value="([^"]*)"', select.group(1)) == ["", *known]
    assert '<option value="failed" selected>failed</option>' in page.text
    assert 'name="status"' not in page.text
    # The page after keeps the filters.
    assert "fulfilment=failed" in page.text
    assert "payment=finished" in page.text


async def test_each_preset_is_one_link_that_marks_itself_and_says_what_it_finds(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    assert tuple(value for value, _words, _meaning in PRESET_WORDS) == PRESETS
    everything = await browser.get("/admin/orders")
    for value, words, _meaning in PRESET_WORDS:
        assert f'href="/admin/orders?preset={value}"' in everything.text
        assert f">{words}</a>" in everything.text
    assert '<a href="/admin/orders" aria-current="page">All</a>' in everything.text
    failed = await browser.get("/admin/orders?preset=failed")
    assert _asked(stand_ins) == {"limit": "50", "preset": "failed"}
    assert 'href="/admin/orders?preset=failed" title="Fulfilment failed' in failed.text
    assert 'aria-current="page">Failed</a>' in failed.text
    assert "Failed: Fulfilment failed: the customer paid and got no key." in failed.text
    assert "No orders match these filters." in failed.text


async def test_a_value_payments_does_not_know_is_refused_before_asking_it(
    browser: httpx.AsyncClient, alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    for name in ORDER_FILTERS:
        page = await browser.get("/admin/orders", params={name: "nonsense"})
        assert page.status_code == 422, name
        assert f"{name} &#39;nonsense&#39; is not one of" in page.text
        api = await alice.get("/admin/api/orders", params={name: "nonsense"})
        assert (api.status_code, api.json()["error"]) == (422, f"invalid_{name}")
        assert api.json()["fields"][0]["field"] == name
    assert [service for service, _query in stand_ins.queries] == []


async def test_the_order_list_shows_chips_times_amounts_and_column_names(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = stand_ins.add_order(
        "a@example.com",
        0,
        fulfilment_state="failed",
        refund_status="refund_due",
        customer_status="refund_due",
        created_at="2026-12-06T01:02:03.456789+00:00",
    )
    page = await browser.get("/admin/orders")
    text = page.text
    assert '<time datetime="2026-12-06T01:02:03Z" title="2026-12-06 01:02:03 UTC">' in text
    assert ".456789" not in text
    assert '<td data-label="Total" class="num">12.50 USDTTRC20</td>' in text
    assert '<span class="status status-finished">finished</span>' in text
    assert '<span class="status status-failed">failed</span>' in text
    assert '<span class="status status-refund_due">refund due</span>' in text
    assert f'title="{order_id}"><code>{str(order_id)[:8]}…</code>' in text
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", text)
    assert headers == [
        "Order",
        "Email",
        "Total",
        "Created",
        "Payment",
        "Fulfilment",
        "Refund",
        "Customer sees",
    ]


async def test_a_listing_names_products_by_title_and_formats_each_cell(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    stand_ins.listings[("payments", "/internal/products")] = [
        {"sku": "cs-source", "title": "Counter-Strike: Source", "kinguin_product_id": "kg-1"},
    ]
    stand_ins.listings[("kinguin-gateway", "/internal/reservations")] = [
        {
            "reservation_id": "b9d5a1f2-0000-4000-8000-000000000001",
            "order_id": "b9d5a1f2-0000-4000-8000-000000000002",
            "state": "failed",
            "lines": [{"qty": 2, "sku": "cs-source"}, {"qty": 1, "kinguin_product_id": "kg-9"}],
            "keys_count": 0.0,
            "updated_at": "2026-12-06T01:02:03.123456+00:00",
        }
    ]
    page = await browser.get("/admin/reservations")
    text = page.text
    assert "2 \N{MULTIPLICATION SIGN} Counter-Strike: Source" in text
    assert "1 \N{MULTIPLICATION SIGN} kg-9" in text
    assert '"sku"' not in text
    assert '<span class="status status-failed">failed</span>' in text
    assert '<td data-label="Keys" class="num">0</td>' in text
    assert 'title="2026-12-06 01:02:03 UTC"' in text
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", text)
    assert headers == ["Order", "State", "Products", "Keys", "Updated"]
    assert all("_" not in header for header in headers)
