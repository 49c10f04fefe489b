"""The UI's listings, dead letters with replay forms, health and audit pages, as a browser
with a session cookie sees them."""

import httpx
from admin_support import LOW_BALANCE, StandIns, block_text, csrf_of, order_form


async def test_a_listing_page_has_its_filters_a_table_and_the_next_page_link(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    stand_ins.listings[("kinguin-gateway", "/internal/reservations")] = [
        {"reservation_id": f"r-{n}", "status": "<b>completed</b>"} for n in range(3)
    ]
    page = await browser.get("/admin/reservations", params={"status": "failed", "limit": "2"})
    assert page.status_code == 200
    assert 'name="order_id"' in page.text
    # Human column names; the reservation's own id is on its order's page.
    assert "<th>Status</th>" in page.text
    assert "<th>reservation_id</th>" not in page.text
    assert "&lt;b&gt;completed&lt;/b&gt;" in page.text
    assert "/admin/reservations?status=failed&amp;limit=2&amp;cursor=2" in page.text


async def test_the_dead_letters_page_replays_with_the_csrf_token_and_says_what_happened(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    stand_ins.dead_letters["delivery"] = [
        {"id": 4, "queue": "delivery.keys.delivered", "reason": "exhausted", "replayed_at": None}
    ]
    page = await browser.get("/admin/dead-letters")
    assert 'action="/admin/dead-letters/delivery/4/replay"' in page.text
    forged = await browser.post("/admin/dead-letters/delivery/4/replay", data={"csrf": "x" * 43})
    done = await browser.post(
        "/admin/dead-letters/delivery/4/replay",
        data={"csrf": csrf_of(page), "back": "https://elsewhere.example/"},
    )
    assert forged.status_code == 403
    assert done.status_code == 200
    assert "Done: delivery accepted it." in done.text
    assert 'href="/admin/orders"' in done.text
    assert stand_ins.posts == [("delivery", "/internal/dead-letters/4/replay", "alice")]


async def test_a_replay_form_to_a_down_service_says_nothing_was_done(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    page = await browser.get("/admin/dead-letters")
    stand_ins.failing.add("payments")
    answer = await browser.post(
        "/admin/dead-letters/payments/1/replay", data={"csrf": csrf_of(page)}
    )
    assert answer.status_code == 502
    assert "payments did not answer" in answer.text


async def test_the_health_page_flags_a_service_that_is_not_ready(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    stand_ins.failing.add("fulfillment")
    page = await browser.get("/admin/health")
    assert page.status_code == 200
    assert "NOT READY" in page.text
    assert "database: timeout" in page.text
    assert "admin.refund.status_changed" in page.text


# The Kinguin balance block of the Health page.
BALANCE = r'<div id="kinguin-balance".*?</div>'


async def test_the_health_page_marks_a_low_balance_with_its_amount_threshold_and_what_to_do(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    stand_ins.balance = LOW_BALANCE
    page = await browser.get("/admin/health")
    shown = block_text(page, BALANCE)
    assert 'class="balance low"' in page.text
    assert "90.01 EUR LOW below the threshold of 100.00 EUR" in shown
    # When, relative, with the exact UTC time on hover.
    assert "Read by the gateway" in shown
    assert 'title="2026-12-05 07:00:00 UTC"' in page.text
    assert "Top up the Kinguin account" in shown
    assert "Stale" not in shown

    stand_ins.balance = {**LOW_BALANCE, "balance_eur": "2500", "low": False}
    shown = block_text(await browser.get("/admin/health"), BALANCE)
    assert "2,500.00 EUR OK low under 100.00 EUR" in shown
    assert "LOW" not in shown


async def test_the_health_page_says_a_stale_balance_failed_and_an_absent_one_is_unknown(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    stand_ins.balance = {
        **LOW_BALANCE,
        "stale": True,
        "error": "kinguin_unavailable",
        "detail": "Kinguin GET /v1/balance answered 503.",
        "failed_at": "2026-12-05T07:05:00+00:00",
    }
    stale = block_text(await browser.get("/admin/health"), BALANCE)
    assert "90.01 EUR LOW" in stale
    assert (
        "Stale: the last read failed at 2026-12-05 07:05:00 UTC "
        "( kinguin_unavailable : Kinguin GET /v1/balance answered 503.)"
    ) in stale
    stand_ins.failing.add("kinguin-gateway")
    down = block_text(await browser.get("/admin/health"), BALANCE)
    assert "UNKNOWN The kinguin-gateway did not answer. gateway_unavailable" in down
    assert "EUR" not in down


async def test_the_audit_page_lists_logins_and_actions(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    page = await browser.get("/admin/audit")
    assert page.status_code == 200
    assert "login_accepted" in page.text


async def test_a_payment_page_shows_its_ipn_history_as_a_table_and_names_a_silent_service(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    stand_ins.listings[("payments", "/internal/payments/np-9")] = [
        {"status": "finished", "signature_valid": True}
    ]
    page = await browser.get("/admin/payments/np-9")
    # The stand-in answers 503 for a payment it does not hold: the page says who is missing.
    unanswered = await browser.get("/admin/payments/np-0")
    odd = await browser.get("/admin/payments/a%20b")
    assert page.status_code == 200
    assert "<h2>items</h2>" in page.text
    assert "<td>finished</td>" in page.text
    assert "Incomplete: no answer from payments" in unanswered.text
    assert odd.status_code == 404


async def test_a_retry_says_what_it_set_in_motion_not_done(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = stand_ins.add_order("buyer@example.com", 5)
    summary = "Requested — still reserving: the Kinguin gateway looks up every earlier order."
    stand_ins.refusals[f"/internal/orders/{order_id}/retry"] = (
        200,
        {"previous_state": "failed", "state": "reserving", "summary": summary},
    )
    answer = await order_form(browser, order_id, "retry")
    assert answer.status_code == 200
    assert "Done" not in answer.text
    assert "Requested — still reserving" in answer.text
    assert "was failed and is now reserving" in answer.text
