"""The order page opens with where the order stands, why and what to do next, and tells
its timeline as one row per fact."""

import httpx
from admin_support import StandIns, at, block_text, order_form

SUMMARY = r'<section id="summary".*?</section>'


async def test_a_failed_order_opens_with_its_reason_and_the_next_step(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = stand_ins.add_order("a@example.com", 0, customer_status="failed")
    reason = "product_unavailable: Kinguin refused POST /v1/order (400): out of stock"
    stand_ins.add_saga(order_id, "failed", failure_stage="reservation", failure_reason=reason)
    failed = {"from": "reserving", "to": "failed", "reason": reason}
    stand_ins.timelines = {
        "fulfillment": {
            str(order_id): [{"at": at(2), "kind": "saga_failed", "summary": "x", "data": failed}]
        },
        "kinguin-gateway": {
            str(order_id): [
                {
                    "at": at(1.9),
                    "kind": "reservation_failed",
                    "summary": "Kinguin refused the order: product_unavailable.",
                    "data": {"code": "product_unavailable", "reason": "out of stock"},
                }
            ]
        },
    }
    page = await browser.get(f"/admin/orders/{order_id}")
    box = block_text(page, SUMMARY)
    assert 'class="tone-act"' in page.text
    assert box.startswith("Kinguin out of stock")
    assert f"Failed at reservation: {reason}" in box
    assert (
        "Next step: Retry when stock returns, deliver keys bought elsewhere by hand, or refund."
        in box
    )
    # The gateway's refusal and the saga's failure are one fact, named by both services.
    assert page.text.count('<span class="title">') == 1
    sources = '<span class="source">kinguin-gateway</span><span class="source">fulfillment</span>'
    assert sources in page.text
    # The raw record is there, behind a disclosure.
    assert "<details>" in page.text
    assert "reservation_failed" in page.text


async def test_a_parked_message_of_the_order_is_named_at_the_top(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = stand_ins.add_order("a@example.com", 0)
    stand_ins.add_saga(order_id, "reserving")
    stand_ins.dead_letters["fulfillment"] = [{"id": 3, "order_id": str(order_id)}]
    stand_ins.dead_letters["delivery"] = [{"id": 4, "order_id": "someone-else"}]
    box = block_text(await browser.get(f"/admin/orders/{order_id}"), SUMMARY)
    assert "A message of this order is parked Parked by fulfillment." in box
    assert "replay it" in box


async def test_a_fulfilled_order_says_there_is_nothing_to_do(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = stand_ins.add_order("a@example.com", 0, customer_status="delivered")
    stand_ins.add_saga(order_id, "fulfilled")
    box = block_text(await browser.get(f"/admin/orders/{order_id}"), SUMMARY)
    assert box == "Fulfilled: the keys were delivered Next step: Nothing to do."


async def test_a_resend_shows_the_email_s_status_read_back_from_delivery(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = stand_ins.add_order("a@example.com", 0, customer_status="delivered")
    stand_ins.add_saga(order_id, "fulfilled")
    path = f"/internal/orders/{order_id}/emails"
    stand_ins.refusals[path] = (202, {"order_id": str(order_id), "email_id": 7})
    sent = {"id": 7, "kind": "resend", "status": "sent", "sent_at": at(3)}
    stand_ins.delivery.emails[str(order_id)] = [sent]
    answer = await order_form(browser, order_id, "resend-email")
    assert answer.status_code == 200
    read_back = (
        "Delivery reports: Email #7 sent, accepted by the mail server at 2026-11-01 12:03:00 UTC."
    )
    assert f'<p id="read-back" class="ok">{read_back}</p>' in answer.text


async def test_a_retry_shows_the_saga_state_read_back_from_fulfillment(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = stand_ins.add_order("a@example.com", 0, customer_status="failed")
    stand_ins.add_saga(order_id, "fulfilled")
    stand_ins.refusals[f"/internal/orders/{order_id}/retry"] = (
        200,
        {"previous_state": "failed", "state": "reserved", "summary": "Requested."},
    )
    answer = await order_form(browser, order_id, "retry")
    assert "Fulfillment reports: the order is fulfilled." in answer.text


async def test_a_fresh_link_is_shown_with_its_expiry_as_delivery_issued_it(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = stand_ins.add_order("a@example.com", 0, customer_status="delivered")
    stand_ins.add_saga(order_id, "fulfilled")
    link = "https://keys.example/reveal?t=abc"
    stand_ins.refusals[f"/internal/orders/{order_id}/link"] = (
        201,
        {"order_id": str(order_id), "link": link, "expires_at": at(60)},
    )
    answer = await order_form(browser, order_id, "link")
    assert f"valid until {at(60)}" in answer.text
    assert f'<code class="address">{link}</code>' in answer.text


async def test_with_fulfillment_silent_the_box_says_so_rather_than_guess(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = stand_ins.add_order("a@example.com", 0)
    stand_ins.add_saga(order_id, "failed")
    stand_ins.failing.add("fulfillment")
    page = await browser.get(f"/admin/orders/{order_id}")
    assert (
        block_text(page, SUMMARY)
        == "Fulfillment did not answer Next step: Reload later; see Health."
    )
    assert "Incomplete: no answer from fulfillment" in page.text
