"""Payment flags and IPNs through the API: a decision reaches payments with the admin's
name and note, payments' verdict is passed on, each is audited with its outcome and note;
bad input is refused before anything is sent."""

from uuid import uuid4

import httpx
import pytest
from admin_support import StandIns, audit_of


# A note of 2000 characters of any script is sent whole.
@pytest.mark.parametrize(
    "note", ["Paid 3 minutes after expiry; the price still holds.", "支払い😀" * 400]
)
async def test_accepting_a_flag_sends_the_note_in_the_admins_name_and_audits_both(
    alice: httpx.AsyncClient, stand_ins: StandIns, note: str
) -> None:
    flag_id = stand_ins.payments.add_flag(order_id=uuid4())
    answer = await alice.post(f"/admin/api/flags/{flag_id}/accept", json={"note": note})
    assert answer.status_code == 200
    result = answer.json()["result"]
    assert (result["flag"]["status"], result["order_status"]) == ("accepted", "paid")
    assert result["flag"]["resolved_by"] == "admin:alice"
    assert stand_ins.posts == [("payments", f"/internal/flags/{flag_id}/accept", "alice")]
    assert stand_ins.bodies == [{"note": note}]
    latest = (await audit_of(alice))[0]
    assert (latest["action"], latest["target"], latest["outcome"]) == (
        "flag_accept",
        f"flags/{flag_id}",
        "ok",
    )
    assert latest["detail"] == {"service": "payments", "status": 200, "note": note}


async def test_a_decision_without_a_body_sends_none_and_refund_due_lists_a_refund(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = uuid4()
    flag_id = stand_ins.payments.add_flag("partially_paid", order_id=order_id)
    answer = await alice.post(f"/admin/api/flags/{flag_id}/refund-due")
    refunds = await alice.get("/admin/api/refunds", params={"order_id": str(order_id)})
    assert answer.status_code == 200
    assert answer.json()["result"]["refund_id"] == 3
    assert stand_ins.bodies == [None]
    (refund,) = refunds.json()["items"]
    assert (refund["flag_id"], refund["status"], refund["requested_by"]) == (
        flag_id,
        "due",
        "admin:alice",
    )
    assert (await audit_of(alice))[0]["detail"] == {
        "service": "payments",
        "status": 200,
        "note": None,
    }


async def test_a_flag_someone_resolved_is_refused_naming_who_and_audited_as_refused(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    flag_id = stand_ins.payments.add_flag()
    await alice.post(f"/admin/api/flags/{flag_id}/dismiss", json={"note": "A test payment."})
    again = await alice.post(f"/admin/api/flags/{flag_id}/accept", json={"note": "Oops"})
    assert again.status_code == 409
    assert again.json()["error"] == "flag_resolved"
    assert "admin:alice" in again.json()["detail"]
    assert again.json()["service"] == "payments"
    latest = (await audit_of(alice))[0]
    assert (latest["action"], latest["outcome"]) == ("flag_accept", "flag_resolved")
    assert latest["detail"] == {"service": "payments", "status": 409, "note": "Oops"}


async def test_a_decision_the_flag_does_not_allow_and_a_bare_dismiss_are_refused_by_payments(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    flag_id = stand_ins.payments.add_flag("unknown_order", decisions=("dismiss",))
    accept = await alice.post(f"/admin/api/flags/{flag_id}/accept")
    refund = await alice.post(f"/admin/api/flags/{flag_id}/refund-due")
    dismiss = await alice.post(f"/admin/api/flags/{flag_id}/dismiss", json={"note": "  "})
    assert (accept.status_code, accept.json()["error"]) == (409, "cannot_accept")
    assert (refund.status_code, refund.json()["error"]) == (409, "cannot_refund_due")
    assert (dismiss.status_code, dismiss.json()["error"]) == (422, "note_required")
    # A blank note is no note: payments is the one that requires it.
    assert stand_ins.bodies[-1] is None
    assert (await audit_of(alice))[0]["outcome"] == "note_required"


async def test_bad_input_is_refused_with_its_reason_and_nothing_reaches_payments(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    flag_id = stand_ins.payments.add_flag()
    path = f"/admin/api/flags/{flag_id}/accept"
    refusals = {
        "not a number": await alice.post("/admin/api/flags/twelve/accept"),
        "too long": await alice.post(path, json={"note": "x" * 2001}),
        "not json": await alice.post(
            path, content=b"{note", headers={"content-type": "application/json"}
        ),
        "a form": await alice.post(path, data={"note": "hello"}),
        "another field": await alice.post(path, json={"note": "hi", "refund": "all"}),
        "not an object": await alice.post(path, json=["hi"]),
        "replay of no ipn": await alice.post("/admin/api/ipns/1e3/replay"),
    }
    assert {name: (a.status_code, a.json()["error"]) for name, a in refusals.items()} == {
        "not a number": (404, "flag_not_found"),
        "too long": (422, "note_too_long"),
        "not json": (400, "malformed_json"),
        "a form": (415, "unsupported_media_type"),
        "another field": (422, "invalid_request"),
        "not an object": (422, "invalid_request"),
        "replay of no ipn": (404, "ipn_not_found"),
    }
    assert refusals["too long"].json()["fields"][0]["field"] == "note"
    assert stand_ins.posts == []


async def test_a_decision_while_payments_is_down_is_503_and_audited_with_the_note(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    flag_id = stand_ins.payments.add_flag()
    stand_ins.failing.add("payments")
    answer = await alice.post(f"/admin/api/flags/{flag_id}/dismiss", json={"note": "dup"})
    assert answer.status_code == 503
    assert (answer.json()["error"], answer.json()["partial"]) == (
        "service_unavailable",
        ["payments"],
    )
    latest = (await audit_of(alice))[0]
    assert (latest["action"], latest["outcome"]) == ("flag_dismiss", "unavailable")
    assert latest["detail"] == {"service": "payments", "status": 503, "note": "dup"}


async def test_a_flag_is_shown_as_payments_has_it_with_the_decisions_open_to_it(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    flag_id = stand_ins.payments.add_flag(decisions=("accept", "dismiss"))
    found = await alice.get(f"/admin/api/flags/{flag_id}")
    missing = await alice.get("/admin/api/flags/999")
    odd = await alice.get("/admin/api/flags/-1")
    stand_ins.failing.add("payments")
    unanswered = await alice.get(f"/admin/api/flags/{flag_id}")
    assert found.status_code == 200
    assert found.json()["item"]["decisions"] == ["accept", "dismiss"]
    assert found.json()["item"]["data"]["actually_paid"] == "25.1"
    assert (missing.status_code, odd.status_code) == (404, 404)
    assert (unanswered.status_code, unanswered.json()) == (
        200,
        {"item": None, "partial": ["payments"]},
    )


async def test_an_ipn_given_up_is_replayed_once_and_an_applied_one_is_refused(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    failed = stand_ins.payments.add_ipn("error")
    applied = stand_ins.payments.add_ipn("paid")
    shown = await alice.get(f"/admin/api/ipns/{failed}")
    first = await alice.post(f"/admin/api/ipns/{failed}/replay")
    second = await alice.post(f"/admin/api/ipns/{failed}/replay")
    refused = await alice.post(f"/admin/api/ipns/{applied}/replay")
    missing = await alice.post("/admin/api/ipns/999/replay")
    assert shown.json()["item"]["raw_body"].startswith('{"payment_id"')
    assert (first.status_code, first.json()["result"]["replayed"]) == (200, True)
    assert first.json()["result"]["ipn"]["replayed_by"] == "admin:alice"
    assert (second.status_code, second.json()["result"]["replayed"]) == (200, False)
    assert (refused.status_code, refused.json()["error"]) == (409, "ipn_not_failed")
    assert (missing.status_code, missing.json()["error"]) == (404, "ipn_not_found")
    assert ("payments", f"/internal/ipns/{failed}/replay", "alice") in stand_ins.posts
    latest = (await audit_of(alice))[0]
    assert (latest["action"], latest["target"], latest["outcome"]) == (
        "ipn_replay",
        "ipns/999",
        "ipn_not_found",
    )


async def test_a_browser_session_must_send_the_csrf_token_to_decide_a_flag(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    flag_id = stand_ins.payments.add_flag()
    csrf = browser.cookies["bitloot_admin_csrf"]
    path = f"/admin/api/flags/{flag_id}/accept"
    refused = await browser.post(path, json={"note": "n"})
    replay = await browser.post("/admin/api/ipns/40/replay")
    accepted = await browser.post(path, json={"note": "n"}, headers={"X-CSRF-Token": csrf})
    assert (refused.status_code, refused.json()["error"]) == (403, "csrf_failed")
    assert replay.status_code == 403
    assert accepted.status_code == 200
    assert stand_ins.posts == [("payments", f"/internal/flags/{flag_id}/accept", "alice")]


async def test_an_order_names_its_open_flags_only(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = stand_ins.add_order("a@example.com", 0)
    waiting = stand_ins.payments.add_flag("overpaid", order_id=order_id)
    decided = stand_ins.payments.add_flag("late_payment", order_id=order_id)
    stand_ins.payments.add_flag("late_payment", order_id=uuid4())
    await alice.post(f"/admin/api/flags/{decided}/dismiss", json={"note": "Seen."})
    order = (await alice.get(f"/admin/api/orders/{order_id}")).json()
    assert [(f["id"], f["kind"]) for f in order["open_flags"]] == [(waiting, "overpaid")]
    assert order["partial"] == []
