"""The refund queue's pages and forms, and the refund actions of an order's page, as a
browser with a session cookie sees them: only the decisions open to a refund's status
have a form, each asks first, carries the CSRF token and is audited; refusals are shown
with their reason and change nothing."""

import re
from uuid import uuid4

import httpx
from admin_support import RunningAdmin, StandIns, csrf_of, forms_of, refund_changed

from bitloot_contracts.events import KeysRevoked
from bitloot_testing.bus import eventually


async def test_the_refunds_list_shows_what_an_operator_needs_newest_first_with_status_tabs(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = uuid4()
    older = stand_ins.refunds.add(order_id, "claimed", reason="keys_unrevealed", cause=None)
    newer = stand_ins.refunds.add(uuid4(), "due", payout_address=None)
    page = await browser.get("/admin/refunds")
    assert page.status_code == 200
    assert page.text.index(f">#{newer}</a>") < page.text.index(f">#{older}</a>")
    assert f'<a href="/admin/refunds/{older}">#{older}</a>' in page.text
    assert f'<a href="/admin/orders/{order_id}" title="{order_id}">' in page.text
    assert "Refunded by an admin, keys never revealed" in page.text
    assert "Order failed (no stock could be reserved at Kinguin)" in page.text
    assert '<td data-label="Amount" class="num">25.10 USDTTRC20</td>' in page.text
    assert ">TXYZopYR…VkAeBf</code>" in page.text
    assert '<a href="/admin/refunds?status=claimed">claimed</a>' in page.text
    assert 'href="/admin/refunds">Refunds</a>' in page.text
    claimed = await browser.get("/admin/refunds", params={"status": "claimed"})
    assert f">#{older}</a>" in claimed.text
    assert f">#{newer}</a>" not in claimed.text
    assert 'aria-current="page">claimed</a>' in claimed.text
    bad = await browser.get("/admin/refunds", params={"status": "paid"})
    assert bad.status_code == 422


async def test_a_claimed_refund_page_shows_everything_and_one_asking_form_per_open_decision(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = uuid4()
    refund_id = stand_ins.refunds.add(order_id, "claimed", payout_extra_id="memo-<7>")
    page = await browser.get(f"/admin/refunds/{refund_id}")
    assert page.status_code == 200
    assert "TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf" in page.text
    assert "memo-&lt;7&gt;" in page.text
    assert f'href="/admin/orders/{order_id}"' in page.text
    assert "refund claimed" in page.text
    assert "Claimed: the customer gave a payout address" in page.text
    forms = forms_of(page)
    assert sorted(forms) == sorted(
        f"/admin/refunds/{refund_id}/{name}" for name in ("approve", "reject", "refunded-outside")
    )
    assert all("confirm(" in tag for tag in forms.values())
    assert page.text.count(f'name="csrf" value="{csrf_of(page)}"') == 4  # 3 forms, log out
    assert re.search(r'<textarea id="note-reject" name="note" [^>]*required>', page.text)
    assert re.search(
        r'<textarea id="note-approve" name="note" rows="3" maxlength="2000">', page.text
    )
    assert 'name="transaction_id"' in page.text


async def test_only_the_decisions_a_status_leaves_open_are_offered(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    due = stand_ins.refunds.add(uuid4(), "due")
    sending = stand_ins.refunds.add(uuid4(), "sending")
    failed = stand_ins.refunds.add(uuid4(), "failed", error="Insufficient balance <usdt>")
    stand_ins.refunds.payouts[failed] = [{"id": 9, "status": "failed", "unique_external_id": "r-1"}]
    due_page = await browser.get(f"/admin/refunds/{due}")
    sending_page = await browser.get(f"/admin/refunds/{sending}")
    failed_page = await browser.get(f"/admin/refunds/{failed}")
    assert sorted(forms_of(due_page)) == [
        f"/admin/refunds/{due}/refunded-outside",
        f"/admin/refunds/{due}/reject",
    ]
    assert forms_of(sending_page) == {}
    assert "Nothing to decide while the refund is sending" in sending_page.text
    assert len(forms_of(failed_page)) == 3
    assert "The payout failed:</strong> Insufficient balance &lt;usdt&gt;" in failed_page.text
    assert '<td data-label="unique_external_id">r-1</td>' in failed_page.text


async def test_approving_through_the_form_says_the_new_status_and_is_audited(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    refund_id = stand_ins.refunds.add(uuid4(), "claimed")
    page = await browser.get(f"/admin/refunds/{refund_id}")
    back = f"/admin/refunds/{refund_id}"
    forged = await browser.post(f"{back}/approve", data={"csrf": "x" * 43, "note": ""})
    done = await browser.post(
        f"{back}/approve", data={"csrf": csrf_of(page), "back": back, "note": "Checked.\r\nOK."}
    )
    assert forged.status_code == 403
    assert done.status_code == 200
    assert f"Refund #{refund_id} is now approved." in done.text
    assert f'<a href="{back}">Back</a>' in done.text
    assert stand_ins.bodies == [{"actor": "alice", "note": "Checked.\nOK."}]
    audit = await browser.get("/admin/audit")
    assert "refund_approve" in audit.text


async def test_a_refused_decision_shows_payments_reason_and_a_missing_note_sends_nothing(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    due = stand_ins.refunds.add(uuid4(), "due")
    sent = stand_ins.refunds.add(uuid4(), "sent")
    page = await browser.get(f"/admin/refunds/{due}")
    csrf = csrf_of(page)
    # Forms of a page loaded earlier: the refund moved on since.
    refused = await browser.post(
        f"/admin/refunds/{sent}/reject", data={"csrf": csrf, "note": "No."}
    )
    bare = await browser.post(f"/admin/refunds/{due}/reject", data={"csrf": csrf, "note": " "})
    assert refused.status_code == 502
    assert "Refused by payments: refund_closed — The refund is sent." in refused.text
    assert "The refund is already closed" in refused.text
    assert bare.status_code == 422
    assert "Say why in the note." in bare.text
    assert stand_ins.posts == [("payments", f"/internal/refunds/{sent}/reject", "alice")]


async def test_a_fulfilled_orders_page_offers_refunding_it_and_shows_keys_revealed_clearly(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = stand_ins.add_order("a@example.com", 1, customer_status="delivered")
    stand_ins.add_saga(order_id, "fulfilled")
    stand_ins.delivery.keys[str(order_id)] = 1
    stand_ins.delivery.revealed.add(str(order_id))
    page = await browser.get(f"/admin/orders/{order_id}")
    path = f"/admin/orders/{order_id}/refund-unrevealed"
    assert "confirm(" in forms_of(page)[path]
    assert "Refund (keys never revealed)</button>" in page.text
    assert '<td id="customer-status"><span class="status status-delivered">delivered' in page.text
    bare = await browser.post(path, data={"csrf": csrf_of(page), "note": ""})
    refused = await browser.post(path, data={"csrf": csrf_of(page), "note": "Asked within 1 h."})
    assert bare.status_code == 422
    assert refused.status_code == 502
    assert "Refused by delivery: keys_revealed" in refused.text
    assert "A key of this order was already revealed to the customer" in refused.text
    assert stand_ins.delivery.revoked == set()


async def test_refunding_an_unrevealed_order_through_its_page_revokes_its_keys(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = stand_ins.add_order("a@example.com", 1)
    stand_ins.add_saga(order_id, "fulfilled")
    stand_ins.delivery.keys[str(order_id)] = 2
    page = await browser.get(f"/admin/orders/{order_id}")
    done = await browser.post(
        f"/admin/orders/{order_id}/refund-unrevealed",
        data={"csrf": csrf_of(page), "note": "Customer asked within 1 h."},
    )
    assert done.status_code == 200
    assert "2 key(s) revoked" in done.text
    assert stand_ins.delivery.revoked == {str(order_id)}


async def test_an_order_not_fulfilled_or_already_refunded_offers_no_refund_of_its_keys(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    failed = stand_ins.add_order("a@example.com", 1)
    stand_ins.add_saga(failed, "failed")
    revoked = stand_ins.add_order("b@example.com", 2)
    stand_ins.add_saga(revoked, "fulfilled")
    stand_ins.refunds.add(revoked, "due", reason="keys_unrevealed")
    for order_id in (failed, revoked):
        page = await browser.get(f"/admin/orders/{order_id}")
        assert f"/admin/orders/{order_id}/refund-unrevealed" not in forms_of(page)


async def test_an_orders_page_offers_the_notices_it_may_have_had_each_asking_first(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = stand_ins.add_order("a@example.com", 1)
    stand_ins.add_saga(order_id, "failed")
    refund_id = stand_ins.refunds.add(order_id, "sent", transaction_id="0xabc")
    stand_ins.delivery.notices[str(order_id)] = {"refund_due", "refund_sent"}
    page = await browser.get(f"/admin/orders/{order_id}")
    kinds = re.findall(r'name="kind" value="(\w+)"', page.text)
    assert kinds == ["refund_due", "refund_sent", "delayed"]
    assert page.text.count("return confirm(&#34;Send the customer") == 3
    assert f'<a href="/admin/refunds/{refund_id}">#{refund_id}</a>' in page.text
    assert "status-refunded" in page.text
    path = f"/admin/orders/{order_id}/notices/resend"
    sent = await browser.post(path, data={"csrf": csrf_of(page), "kind": "refund_sent"})
    never = await browser.post(path, data={"csrf": csrf_of(page), "kind": "delayed"})
    assert sent.status_code == 200
    assert "Delivery queued the email (#501)" in sent.text
    assert never.status_code == 502
    assert "That notice was never sent for this order" in never.text
    assert stand_ins.delivery.resent == [(str(order_id), "refund_sent")]


async def test_the_order_list_shows_each_orders_customer_status(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    stand_ins.add_order("a@example.com", 1, customer_status="refund_due")
    page = await browser.get("/admin/orders")
    assert '<span class="status status-refund_due">refund due</span>' in page.text


async def test_the_timeline_tells_refund_and_revocation_events_in_words(
    admin: RunningAdmin, browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = stand_ins.add_order("a@example.com", 1)
    refund = refund_changed(order_id, "claimed", refund_id=5, previous_status="due")
    revoked = KeysRevoked(order_id=order_id, key_count=1, revoked_by="alice", note=None)
    await admin.runtime.publisher.publish(refund)
    await admin.runtime.publisher.publish(revoked)

    async def both_shown() -> bool:
        page = await browser.get(f"/admin/orders/{order_id}")
        return page.text.count('<span class="source">admin</span>') == 2

    assert await eventually(both_shown, timeout=15)
    page = await browser.get(f"/admin/orders/{order_id}")
    assert '<span class="title">Refund claimed — waiting for an admin</span>' in page.text
    title = '<span class="title">Keys revoked at delivery (the order is refunded)</span>'
    assert title in page.text
