"""Refunds through the API: the queue by status with payments' paging, one refund with its
payouts and the decisions open to it; each decision reaches payments in the admin's name
with the note, payments' refusals (409) are passed on with their code, each action is
audited; bad input is refused before anything is sent. Refunding an unrevealed order and
resending a notice reach delivery the same way."""

from uuid import uuid4

import httpx
from admin_support import StandIns, audit_of


async def test_the_queue_lists_one_status_newest_first_and_pages_by_before(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    ids = [stand_ins.refunds.add(uuid4(), "claimed") for _ in range(3)]
    stand_ins.refunds.add(uuid4(), "sent")
    first = await alice.get("/admin/api/refunds", params={"status": "claimed", "limit": "2"})
    assert first.status_code == 200
    assert [r["id"] for r in first.json()["items"]] == [ids[2], ids[1]]
    assert first.json()["next"] == {"before": str(ids[1])}
    second = await alice.get(
        "/admin/api/refunds", params={"status": "claimed", "limit": "2", **first.json()["next"]}
    )
    assert [r["id"] for r in second.json()["items"]] == [ids[0]]
    assert second.json()["next"] is None
    item = first.json()["items"][0]
    assert (item["amount"], item["currency"], item["customer_status"]) == (
        "25.1",
        "usdttrc20",
        "refund_claimed",
    )


async def test_a_status_that_is_not_a_refund_status_is_refused_before_payments_is_asked(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    answers = [
        await alice.get("/admin/api/refunds", params={"status": "paid"}),
        await alice.get("/admin/api/refunds", params={"order_id": "nope"}),
        await alice.get("/admin/api/refunds", params={"before": "-1"}),
    ]
    assert [(a.status_code, a.json()["error"]) for a in answers] == [
        (422, "invalid_status"),
        (422, "invalid_order_id"),
        (422, "invalid_before"),
    ]
    assert not [q for q in stand_ins.queries if q[0] == "payments"]


async def test_one_refund_has_its_payouts_and_only_the_decisions_open_to_its_status(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    claimed = stand_ins.refunds.add(uuid4(), "claimed")
    failed = stand_ins.refunds.add(uuid4(), "failed", error="insufficient balance")
    due = stand_ins.refunds.add(uuid4(), "due")
    sending = stand_ins.refunds.add(uuid4(), "sending")
    stand_ins.refunds.payouts[failed] = [{"id": 1, "status": "failed", "error": "balance"}]
    found = {
        refund_id: (await alice.get(f"/admin/api/refunds/{refund_id}")).json()["item"]
        for refund_id in (claimed, failed, due, sending)
    }
    assert found[claimed]["decisions"] == ["approve", "reject", "refunded-outside"]
    assert found[failed]["decisions"] == ["approve", "reject", "refunded-outside"]
    assert found[due]["decisions"] == ["reject", "refunded-outside"]
    assert found[sending]["decisions"] == []
    assert found[failed]["payouts"] == [{"id": 1, "status": "failed", "error": "balance"}]
    assert found[failed]["error"] == "insufficient balance"
    missing = await alice.get("/admin/api/refunds/999")
    not_an_id = await alice.get("/admin/api/refunds/x1")
    assert (missing.status_code, missing.json()["error"]) == (404, "refund_not_found")
    assert (not_an_id.status_code, not_an_id.json()["error"]) == (404, "refund_not_found")


async def test_approving_a_claimed_refund_reaches_payments_in_the_admins_name_and_is_audited(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    refund_id = stand_ins.refunds.add(uuid4(), "claimed")
    answer = await alice.post(f"/admin/api/refunds/{refund_id}/approve")
    assert answer.status_code == 200
    assert answer.json()["result"]["status"] == "approved"
    assert stand_ins.posts == [("payments", f"/internal/refunds/{refund_id}/approve", "alice")]
    assert stand_ins.bodies == [{"actor": "alice", "note": None}]
    latest = (await audit_of(alice))[0]
    assert (latest["username"], latest["action"], latest["target"], latest["outcome"]) == (
        "alice",
        "refund_approve",
        f"refunds/{refund_id}",
        "ok",
    )
    assert latest["detail"] == {"service": "payments", "status": 200, "note": None}


async def test_a_decision_the_refunds_status_does_not_allow_passes_on_payments_409_code(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    due = stand_ins.refunds.add(uuid4(), "due")
    sent = stand_ins.refunds.add(uuid4(), "sent")
    approve = await alice.post(f"/admin/api/refunds/{due}/approve")
    reject = await alice.post(f"/admin/api/refunds/{sent}/reject", json={"note": "Too late."})
    assert (approve.status_code, approve.json()["error"]) == (409, "not_claimed")
    assert (reject.status_code, reject.json()["error"]) == (409, "refund_closed")
    assert reject.json()["detail"] == "The refund is sent."
    assert reject.json()["service"] == "payments"
    latest = (await audit_of(alice))[0]
    assert (latest["action"], latest["outcome"]) == ("refund_reject", "refund_closed")
    assert latest["detail"] == {"service": "payments", "status": 409, "note": "Too late."}


async def test_reject_and_refunded_outside_need_a_note_and_nothing_is_sent_without_one(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    refund_id = stand_ins.refunds.add(uuid4(), "claimed")
    before = len(await audit_of(alice))
    answers = [
        await alice.post(f"/admin/api/refunds/{refund_id}/reject"),
        await alice.post(f"/admin/api/refunds/{refund_id}/reject", json={"note": "  \n "}),
        await alice.post(f"/admin/api/refunds/{refund_id}/refunded-outside", json={}),
    ]
    assert [(a.status_code, a.json()["error"]) for a in answers] == [(422, "note_required")] * 3
    assert answers[0].json()["fields"][0]["field"] == "note"
    assert stand_ins.posts == []
    assert len(await audit_of(alice)) == before


async def test_refunded_outside_sends_the_note_and_transaction_id_and_audits_both(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    refund_id = stand_ins.refunds.add(uuid4(), "failed")
    body = {"note": "Paid by bank transfer.", "transaction_id": "SEPA-2026-11-02:17"}
    answer = await alice.post(f"/admin/api/refunds/{refund_id}/refunded-outside", json=body)
    assert answer.status_code == 200
    result = answer.json()["result"]
    assert (result["status"], result["transaction_id"]) == (
        "refunded_outside",
        body["transaction_id"],
    )
    assert stand_ins.bodies == [{"actor": "alice", **body}]
    latest = (await audit_of(alice))[0]
    assert latest["action"] == "refund_refunded_outside"
    assert latest["detail"] == {"service": "payments", "status": 200, **body}


async def test_bad_decision_bodies_are_refused_with_their_code_and_nothing_is_sent(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    refund_id = stand_ins.refunds.add(uuid4(), "claimed")
    path = f"/admin/api/refunds/{refund_id}"
    answers = {
        "transaction id on approve": await alice.post(
            f"{path}/approve", json={"transaction_id": "abc"}
        ),
        "transaction id with spaces": await alice.post(
            f"{path}/refunded-outside", json={"note": "x", "transaction_id": "a b"}
        ),
        "note too long": await alice.post(f"{path}/reject", json={"note": "x" * 2001}),
        "another field": await alice.post(f"{path}/approve", json={"amount": "1"}),
        "not json": await alice.post(f"{path}/approve", content=b"note=x"),
    }
    codes = {what: (a.status_code, a.json()["error"]) for what, a in answers.items()}
    assert codes["transaction id on approve"] == (422, "invalid_transaction_id")
    assert codes["transaction id with spaces"] == (422, "invalid_transaction_id")
    assert codes["note too long"] == (422, "note_too_long")
    assert codes["another field"][0] == 422
    assert codes["not json"] == (415, "unsupported_media_type")
    assert stand_ins.posts == []


async def test_a_payments_that_does_not_answer_makes_a_decision_503_and_the_queue_partial(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    refund_id = stand_ins.refunds.add(uuid4(), "claimed")
    stand_ins.failing.add("payments")
    decision = await alice.post(f"/admin/api/refunds/{refund_id}/approve")
    queue = await alice.get("/admin/api/refunds")
    one = await alice.get(f"/admin/api/refunds/{refund_id}")
    assert (decision.status_code, decision.json()["error"]) == (503, "service_unavailable")
    assert (queue.status_code, queue.json()["partial"]) == (200, ["payments"])
    assert one.json() == {"item": None, "partial": ["payments"]}
    assert (await audit_of(alice))[0]["outcome"] == "unavailable"


async def test_refunding_an_unrevealed_order_asks_delivery_to_revoke_with_the_note(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = uuid4()
    stand_ins.delivery.keys[str(order_id)] = 2
    note = "Customer cancelled within the hour; keys never opened."
    answer = await alice.post(
        f"/admin/api/orders/{order_id}/refund-unrevealed", json={"note": note}
    )
    assert answer.status_code == 200
    assert answer.json()["result"]["key_count"] == 2
    assert stand_ins.posts == [("delivery", f"/internal/orders/{order_id}/revoke", "alice")]
    assert stand_ins.bodies == [{"actor": "alice", "note": note}]
    latest = (await audit_of(alice))[0]
    assert (latest["action"], latest["target"], latest["outcome"]) == (
        "order_refund_unrevealed",
        f"orders/{order_id}",
        "ok",
    )
    assert latest["detail"] == {"service": "delivery", "status": 200, "note": note}


async def test_delivery_refusing_a_revealed_order_is_passed_on_as_keys_revealed(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    revealed, unknown = uuid4(), uuid4()
    stand_ins.delivery.keys[str(revealed)] = 1
    stand_ins.delivery.revealed.add(str(revealed))
    body = {"note": "Asked for a refund."}
    refused = await alice.post(f"/admin/api/orders/{revealed}/refund-unrevealed", json=body)
    no_keys = await alice.post(f"/admin/api/orders/{unknown}/refund-unrevealed", json=body)
    no_note = await alice.post(f"/admin/api/orders/{revealed}/refund-unrevealed")
    assert (refused.status_code, refused.json()["error"]) == (409, "keys_revealed")
    assert refused.json()["detail"] == "A key of this order was revealed."
    assert (no_keys.status_code, no_keys.json()["error"]) == (404, "no_keys")
    assert (no_note.status_code, no_note.json()["error"]) == (422, "note_required")
    assert stand_ins.delivery.revoked == set()
    assert (await audit_of(alice))[0]["outcome"] == "no_keys"


async def test_resending_a_notice_reaches_delivery_and_one_never_sent_is_refused(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = uuid4()
    stand_ins.delivery.notices[str(order_id)] = {"refund_due"}
    path = f"/admin/api/orders/{order_id}/notices/resend"
    sent = await alice.post(path, json={"kind": "refund_due"})
    never = await alice.post(path, json={"kind": "refund_sent"})
    unknown = await alice.post(path, json={"kind": "keys"})
    assert (sent.status_code, sent.json()["result"]) == (200, {"email_id": 501})
    assert (never.status_code, never.json()["error"]) == (404, "no_such_notice")
    assert (unknown.status_code, unknown.json()["error"]) == (422, "invalid_kind")
    assert stand_ins.delivery.resent == [(str(order_id), "refund_due")]
    assert stand_ins.bodies == [
        {"kind": "refund_due", "actor": "alice"},
        {"kind": "refund_sent", "actor": "alice"},
    ]
    latest = (await audit_of(alice))[0]
    assert (latest["action"], latest["outcome"], latest["detail"]) == (
        "notice_resend",
        "no_such_notice",
        {"service": "delivery", "status": 404, "kind": "refund_sent"},
    )


async def test_an_order_shows_the_customer_status_payments_computes_else_from_its_parts(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    said = stand_ins.add_order("a@example.com", 1, customer_status="refund_failed")
    parts = stand_ins.add_order("b@example.com", 2)
    stand_ins.add_saga(parts, "failed")
    stand_ins.refunds.add(parts, "claimed")
    orders = (await alice.get("/admin/api/orders")).json()["items"]
    by_id = {row["order_id"]: row["customer_status"] for row in orders}
    assert by_id[str(said)] == "refund_failed"
    detail = (await alice.get(f"/admin/api/orders/{parts}")).json()
    assert detail["customer_status"] == "refund_claimed"
    assert detail["order"]["refunds"][0]["status"] == "claimed"
