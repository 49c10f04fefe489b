"""The flag and IPN pages and their forms, the flag and refund listings, and an order's
open flags, as a browser with a session cookie sees them."""

import base64
import hashlib
import html
import re
from uuid import uuid4

import httpx
from admin_support import StandIns, csrf_of, forms_of


async def test_a_flag_page_shows_the_flag_its_amounts_links_and_one_form_per_open_decision(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = uuid4()
    flag_id = stand_ins.payments.add_flag(
        order_id=order_id, detail="Payment <b>5077125051</b>: late_payment (finished)."
    )
    page = await browser.get(f"/admin/flags/{flag_id}")
    assert page.status_code == 200
    assert f"Flag #{flag_id}: late_payment" in page.text
    assert "&lt;b&gt;5077125051&lt;/b&gt;" in page.text
    assert "<th>Order price</th><td>25 usd</td>" in page.text
    assert "<th>Actually paid</th><td>25.1 usdttrc20</td>" in page.text
    assert f'href="/admin/orders/{order_id}"' in page.text
    assert 'href="/admin/payments/5077125051"' in page.text
    assert 'href="/admin/ipns/40"' in page.text
    forms = forms_of(page)
    assert sorted(forms) == sorted(
        f"/admin/flags/{flag_id}/{name}" for name in ("accept", "refund-due", "dismiss")
    )
    assert "confirm(" in forms[f"/admin/flags/{flag_id}/accept"]
    assert "confirm(" in forms[f"/admin/flags/{flag_id}/refund-due"]
    assert "confirm(" not in forms[f"/admin/flags/{flag_id}/dismiss"]
    assert page.text.count(f'name="csrf" value="{csrf_of(page)}"') == 4  # 3 forms, log out
    for label in ("Accept payment and fulfil the order", "Mark refund due", "Dismiss"):
        assert f'<button type="submit">{label}</button>' in page.text
    assert re.search(
        r'<textarea id="note-dismiss" name="note" rows="3" maxlength="2000" required>', page.text
    )


async def test_the_page_script_policy_allows_exactly_the_confirmations_the_forms_ask(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    flag_id = stand_ins.payments.add_flag()
    order_id = stand_ins.add_order("a@example.com", 0)
    stand_ins.add_saga(order_id, "fulfilled", lines=[{"kinguin_product_id": "p", "qty": 1}])
    refund_id = stand_ins.refunds.add(order_id, "claimed")
    stand_ins.refunds.add(order_id, "sent")
    failed_id = stand_ins.add_order("b@example.com", 0)
    stand_ins.add_saga(failed_id, "failed")
    page = await browser.get(f"/admin/flags/{flag_id}")
    # The other pages that ask: delivering keys by hand (shown whether configured or
    # not), a refund's decisions, an order's refund, notices and repairs (a failed
    # order's retry, a fulfilled one's email and link), replaying an IPN given up on.
    ipn_id = stand_ins.payments.add_ipn("error", order_id=str(order_id))
    others = [
        await browser.get(f"/admin/ipns/{ipn_id}"),
        await browser.get(f"/admin/orders/{order_id}/deliver-keys"),
        await browser.get(f"/admin/refunds/{refund_id}"),
        await browser.get(f"/admin/orders/{order_id}"),
        await browser.get(f"/admin/orders/{failed_id}"),
    ]
    found = re.findall(r'onsubmit="([^"]+)"', page.text + "".join(o.text for o in others))
    handlers = {html.unescape(h) for h in found}
    policy = page.headers["content-security-policy"]
    allowed = set(re.findall(r"'sha256-([^']+)'", policy))
    assert len(handlers) == 14
    assert {
        base64.b64encode(hashlib.sha256(h.encode()).digest()).decode() for h in handlers
    } == allowed
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]


async def test_a_resolved_flag_says_who_resolved_it_when_and_why_and_offers_nothing(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    flag_id = stand_ins.payments.add_flag(
        status="dismissed",
        resolved_by="admin:carol",
        resolved_at="2026-11-02T10:00:00+00:00",
        note="Test payment <from> QA.",
    )
    page = await browser.get(f"/admin/flags/{flag_id}")
    # When, relative, with the exact UTC time on hover.
    assert 'dismissed — by admin:carol <time datetime="2026-11-02T10:00:00Z"' in page.text
    assert 'title="2026-11-02 10:00:00 UTC"' in page.text
    assert "Test payment &lt;from&gt; QA." in page.text
    assert forms_of(page) == {}
    assert "nothing is left to decide" in page.text


async def test_accepting_through_the_form_shows_the_result_and_links_back_to_the_flag(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    flag_id = stand_ins.payments.add_flag(order_id=uuid4())
    page = await browser.get(f"/admin/flags/{flag_id}")
    back = f"/admin/flags/{flag_id}"
    forged = await browser.post(f"{back}/accept", data={"csrf": "x" * 43, "note": "n"})
    done = await browser.post(
        f"{back}/accept",
        data={"csrf": csrf_of(page), "back": back, "note": "Late,\r\nbut whole."},
    )
    assert forged.status_code == 403
    assert done.status_code == 200
    assert "Done: payments accepted it." in done.text
    assert "The flag is now accepted; the order is paid." in done.text
    assert f'<a href="{back}">Back</a>' in done.text
    assert stand_ins.posts == [("payments", f"/internal/flags/{flag_id}/accept", "alice")]
    assert stand_ins.bodies == [{"note": "Late,\nbut whole."}]
    shown = await browser.get(back)
    assert "accepted — by admin:alice" in shown.text


async def test_a_refund_due_form_says_the_refund_is_recorded(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    flag_id = stand_ins.payments.add_flag("partially_paid", order_id=uuid4())
    page = await browser.get(f"/admin/flags/{flag_id}")
    done = await browser.post(
        f"/admin/flags/{flag_id}/refund-due", data={"csrf": csrf_of(page), "note": ""}
    )
    assert "refund #3 is recorded as due" in done.text
    assert "the order is refund_due" in done.text
    shown = await browser.get(f"/admin/flags/{flag_id}")
    assert "<h2>Refunds</h2>" in shown.text


async def test_a_dismiss_without_a_note_or_a_note_too_long_is_refused_and_says_why(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    flag_id = stand_ins.payments.add_flag()
    page = await browser.get(f"/admin/flags/{flag_id}")
    path = f"/admin/flags/{flag_id}/dismiss"
    bare = await browser.post(path, data={"csrf": csrf_of(page), "note": " "})
    long = await browser.post(path, data={"csrf": csrf_of(page), "note": "é" * 2001})
    assert bare.status_code == 502
    assert "Refused by payments: note_required — Say why the flag is dismissed." in bare.text
    assert long.status_code == 422
    assert "2001 characters" in long.text
    assert len(stand_ins.posts) == 1


async def test_an_ipn_page_shows_its_raw_body_and_offers_a_replay_only_once_given_up(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = uuid4()
    failed = stand_ins.payments.add_ipn("error", order_id=str(order_id))
    applied = stand_ins.payments.add_ipn("paid")
    page = await browser.get(f"/admin/ipns/{failed}")
    other = await browser.get(f"/admin/ipns/{applied}")
    missing = await browser.get("/admin/ipns/999")
    odd = await browser.get("/admin/ipns/abc")
    assert page.status_code == 200
    assert f"IPN #{failed}" in page.text
    assert "OperationalError: the database went away" in page.text
    assert "{&#34;payment_id&#34;:5077125051" in page.text
    assert f'href="/admin/orders/{order_id}"' in page.text
    assert 'href="/admin/payments/5077125051"' in page.text
    assert f'action="/admin/ipns/{failed}/replay"' in page.text
    # Applying a payment again may fulfil the order: the form asks first.
    assert 'onsubmit="return confirm(&#34;Apply this IPN again?' in page.text
    assert "/replay" not in other.text
    assert (missing.status_code, odd.status_code) == (404, 404)
    done = await browser.post(
        f"/admin/ipns/{failed}/replay",
        data={"csrf": csrf_of(page), "back": f"/admin/ipns/{failed}"},
    )
    assert "The IPN is back in the queue" in done.text
    assert f'<a href="/admin/ipns/{failed}">Back</a>' in done.text
    refused = await browser.post(f"/admin/ipns/{applied}/replay", data={"csrf": csrf_of(page)})
    assert (refused.status_code, "ipn_not_failed" in refused.text) == (502, True)


async def test_listings_link_flags_ipns_and_refunds_to_their_pages(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = uuid4()
    flag_id = stand_ins.payments.add_flag(order_id=order_id)
    stand_ins.listings[("payments", "/internal/ipns")] = [
        {"id": 40, "payment_id": "5077125051", "order_id": None, "result": "error"}
    ]
    flags = await browser.get("/admin/flags", params={"status": "open"})
    ipns = await browser.get("/admin/ipns", params={"source": "poll"})
    await browser.post(
        f"/admin/flags/{flag_id}/refund-due", data={"csrf": csrf_of(flags), "note": "Short."}
    )
    refunds = await browser.get("/admin/refunds")
    assert f'<a href="/admin/flags/{flag_id}">{flag_id}</a>' in flags.text
    # An order id shows its first eight characters, the whole one on hover and in the link.
    order_link = f'<a href="/admin/orders/{order_id}" title="{order_id}">{str(order_id)[:8]}…</a>'
    assert order_link in flags.text
    assert '<option value="open" selected>open</option>' in flags.text
    assert '<a href="/admin/ipns/40">40</a>' in ipns.text
    assert '<a href="/admin/payments/5077125051">5077125051</a>' in ipns.text
    assert ("payments", [("source", "poll"), ("limit", "50")]) in stand_ins.queries
    (refund,) = stand_ins.payments.refunds
    refund_page = await browser.get(f"/admin/refunds/{refund['id']}")
    assert f'<a href="/admin/refunds/{refund["id"]}">#{refund["id"]}</a>' in refunds.text
    assert f'<a href="/admin/orders/{order_id}"' in refunds.text
    assert "Payment flag: late payment" in refunds.text
    assert f'<a href="/admin/flags/{flag_id}">#{flag_id}</a>' in refund_page.text
    assert '<td class="prose">Short.</td>' in refund_page.text
    assert 'href="/admin/flags?status=open">Flags</a>' in refunds.text
    assert 'href="/admin/refunds">Refunds</a>' in refunds.text


async def test_an_order_page_lists_its_open_flags_with_links(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = stand_ins.add_order("a@example.com", 0)
    flag_id = stand_ins.payments.add_flag("paid_twice", order_id=order_id)
    quiet = stand_ins.add_order("b@example.com", 1)
    page = await browser.get(f"/admin/orders/{order_id}")
    none = await browser.get(f"/admin/orders/{quiet}")
    assert f'<a href="/admin/flags/{flag_id}">Flag #{flag_id}: paid_twice</a>' in page.text
    assert "open-flags" not in none.text
    assert "Incomplete" not in page.text
