"""An admin's decisions on refunds through the internal API: approve a claim (or a failed
payout), reject or record refunded outside with a note; each refused when the refund's
status does not allow it, each taken once when two admins click together, each telling
the bus once. And the one customer status the order pages show."""

import asyncio
from typing import Any

import httpx
from payments_support import checkout, ipn, send, settled
from refund_support import (
    TRON_ADDRESS,
    claim_token,
    emitted,
    failed,
    made_due,
    refund_of,
    set_refund,
)

from bitloot_runtime.service import ServiceRuntime

STATUS_CHANGED = "refund.status_changed"


async def claimed(client: httpx.AsyncClient, runtime: ServiceRuntime) -> tuple[str, int]:
    order_id, refund_id = await made_due(runtime, client)
    form = {"token": claim_token(refund_id, order_id), "address": TRON_ADDRESS}
    answer = await client.post("/refunds/claim", data=form)
    assert answer.status_code == 200, answer.text
    return order_id, refund_id


async def decide(
    admin: httpx.AsyncClient, refund_id: int, path: str, **body: Any
) -> httpx.Response:
    return await admin.post(f"/internal/refunds/{refund_id}/{path}", json=body)


async def statuses(runtime: ServiceRuntime, order_id: str) -> list[tuple[str, str | None]]:
    return [
        (c["status"], c["previous_status"])
        for c in await emitted(runtime, order_id, STATUS_CHANGED)
    ]


async def test_an_approved_claim_is_recorded_with_who_and_why_and_told_once(
    client: httpx.AsyncClient, runtime: ServiceRuntime, admin: httpx.AsyncClient
) -> None:
    order_id, refund_id = await claimed(client, runtime)
    answer = await decide(admin, refund_id, "approve", actor="ana", note="ok")
    assert answer.status_code == 200, answer.text
    refund = answer.json()
    assert (refund["status"], refund["decided_by"], refund["decision_note"]) == (
        "approved",
        "admin:ana",
        "ok",
    )
    assert refund["decided_at"] is not None
    assert (refund["payout_address"], refund["customer_status"]) == (TRON_ADDRESS, "refund_claimed")
    assert refund["payouts"] == []
    shown = await admin.get(f"/internal/refunds/{refund_id}")
    assert shown.json()["status"] == "approved"
    assert await statuses(runtime, order_id) == [
        ("due", None),
        ("claimed", "due"),
        ("approved", "claimed"),
    ]
    again = await decide(admin, refund_id, "approve", actor="bob")
    assert (again.status_code, again.json()["error"]) == (409, "not_claimed")
    assert len(await statuses(runtime, order_id)) == 3


async def test_two_admins_approving_at_once_approve_once(
    client: httpx.AsyncClient, runtime: ServiceRuntime, admin: httpx.AsyncClient
) -> None:
    order_id, refund_id = await claimed(client, runtime)
    answers = await asyncio.gather(
        *(decide(admin, refund_id, "approve", actor=name) for name in "abcd")
    )
    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409]
    assert await statuses(runtime, order_id) == [
        ("due", None),
        ("claimed", "due"),
        ("approved", "claimed"),
    ]


async def test_rejecting_needs_a_note_and_an_open_refund(
    client: httpx.AsyncClient, runtime: ServiceRuntime, admin: httpx.AsyncClient
) -> None:
    order_id, refund_id = await claimed(client, runtime)
    no_note = await decide(admin, refund_id, "reject", actor="ana", note=" ")
    assert (no_note.status_code, no_note.json()["error"]) == (400, "note_required")
    rejected = await decide(
        admin, refund_id, "reject", actor="ana", note="Chargeback already made."
    )
    assert rejected.status_code == 200
    assert (rejected.json()["status"], rejected.json()["customer_status"]) == (
        "rejected",
        "refund_rejected",
    )
    [*_, last] = await emitted(runtime, order_id, STATUS_CHANGED)
    assert (last["status"], last["note"]) == ("rejected", "Chargeback already made.")
    closed = await decide(admin, refund_id, "reject", actor="ana", note="x")
    assert (closed.status_code, closed.json()["error"]) == (409, "refund_closed")
    outside = await decide(admin, refund_id, "refunded-outside", note="x")
    assert (outside.status_code, outside.json()["error"]) == (409, "refund_closed")


async def test_bad_decision_requests_are_refused(
    client: httpx.AsyncClient, runtime: ServiceRuntime, admin: httpx.AsyncClient
) -> None:
    _order_id, refund_id = await made_due(runtime, client)
    for path in ("approve", "reject", "refunded-outside"):
        missing = await decide(admin, 10**9, path, note="x")
        assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    assert (await admin.get("/internal/refunds/x")).status_code == 404
    extra = await decide(admin, refund_id, "approve", amount="1")
    assert extra.status_code == 422
    tx = await decide(admin, refund_id, "reject", note="x", transaction_id="t")
    assert tx.status_code == 422
    unauthorized = await client.post(f"/internal/refunds/{refund_id}/approve", json={})
    assert unauthorized.status_code == 401


async def test_every_order_page_tells_one_status_from_the_refund(
    client: httpx.AsyncClient, runtime: ServiceRuntime, admin: httpx.AsyncClient
) -> None:
    created = await checkout(client)
    order_id, token = created["order_id"], {"authorization": f"Bearer {created['order_token']}"}
    await send(client, ipn(order_id, "finished", payment_id=4242))
    await settled(runtime)
    await runtime.publisher.publish(failed(order_id))
    refund = await refund_of(runtime, order_id)

    async def told() -> tuple[str, str, str]:
        public = (await client.get(f"/orders/{order_id}", headers=token)).json()
        internal = (await admin.get(f"/internal/orders/{order_id}")).json()
        # The admin's order list reads the same status from the list of orders.
        listed = (await admin.get("/internal/orders")).json()
        [row] = [item for item in listed["items"] if item["order_id"] == order_id]
        return public["customer_status"], internal["customer_status"], row["customer_status"]

    assert await told() == ("refund_due",) * 3
    form = {"token": claim_token(refund["id"], order_id), "address": TRON_ADDRESS}
    await client.post("/refunds/claim", data=form)
    assert await told() == ("refund_claimed",) * 3
    internal = (await admin.get(f"/internal/orders/{order_id}")).json()
    assert [r["status"] for r in internal["refunds"]] == ["claimed"]


async def test_a_canceled_refund_is_listed_telling_the_customer_nothing(
    client: httpx.AsyncClient, runtime: ServiceRuntime, admin: httpx.AsyncClient
) -> None:
    """Keys delivered by hand cancel the refund owed: it no longer speaks for the order,
    and every view of it says so with a null customer status (not a 500)."""
    order_id, refund_id = await made_due(runtime, client)
    await set_refund(runtime, refund_id, status="canceled")
    listed = await admin.get("/internal/refunds", params={"order_id": order_id})
    assert listed.status_code == 200, listed.text
    assert [(r["status"], r["customer_status"]) for r in listed.json()["items"]] == [
        ("canceled", None)
    ]
    one = await admin.get(f"/internal/refunds/{refund_id}")
    assert (one.status_code, one.json()["customer_status"]) == (200, None)
    order = await admin.get(f"/internal/orders/{order_id}")
    assert [r["customer_status"] for r in order.json()["refunds"]] == [None]
