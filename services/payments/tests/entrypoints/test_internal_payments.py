"""The payments part of the internal API: payments, their IPN history, the IPN log, flags."""

import httpx
from payments_support import ipn, new_order, send, settled

from bitloot_runtime.service import ServiceRuntime


async def paid_order(client: httpx.AsyncClient, runtime: ServiceRuntime, payment_id: int) -> str:
    """An order of 25 usd whose payment `payment_id` went waiting, then finished."""
    order_id = await new_order(client)
    for status in ("waiting", "finished"):
        await send(client, ipn(order_id, status, payment_id=payment_id))
    await settled(runtime)
    return order_id


async def test_payments_are_listed_newest_first_by_page_and_filter(
    client: httpx.AsyncClient, runtime: ServiceRuntime, admin: httpx.AsyncClient
) -> None:
    orders = [await paid_order(client, runtime, payment_id) for payment_id in (11, 12, 13)]
    first = await admin.get("/internal/payments", params={"limit": 2})
    assert [p["payment_id"] for p in first.json()["items"]] == ["13", "12"]
    assert first.json()["items"][0]["actually_paid"] == "25.1"
    rest = await admin.get(
        "/internal/payments", params={"limit": 2, "cursor": first.json()["next"]}
    )
    assert [p["payment_id"] for p in rest.json()["items"]] == ["11"]
    assert rest.json()["next"] is None
    mine = await admin.get("/internal/payments", params={"order_id": orders[1]})
    assert [p["payment_id"] for p in mine.json()["items"]] == ["12"]
    created = first.json()["items"][0]["created_at"]
    window = {"status": "finished", "since": created}
    later = await admin.get("/internal/payments", params=window)
    assert [p["payment_id"] for p in later.json()["items"]] == ["13"]
    expired = await admin.get("/internal/payments?status=expired")
    assert expired.json()["items"] == []


async def test_bad_filters_are_refused_with_a_reason(admin: httpx.AsyncClient) -> None:
    for path, error in [
        ("/internal/payments?limit=101", "invalid_limit"),
        ("/internal/payments?order_id=x", "invalid_order_id"),
        ("/internal/payments?since=yesterday", "invalid_since"),
        ("/internal/payments?cursor=%%%", "invalid_cursor"),
        ("/internal/ipns?signature_valid=maybe", "invalid_signature_valid"),
        ("/internal/ipns?before=-1", "invalid_before"),
        (f"/internal/ipns?before={2**63}", "invalid_before"),
        ("/internal/ipns?source=carrier-pigeon", "invalid_source"),
        ("/internal/flags?order_id=1", "invalid_order_id"),
    ]:
        answer = await admin.get(path)
        assert (answer.status_code, answer.json()["error"]) == (422, error), path


async def test_a_payment_shows_its_whole_ipn_history_or_404(
    client: httpx.AsyncClient, runtime: ServiceRuntime, admin: httpx.AsyncClient
) -> None:
    order_id = await paid_order(client, runtime, 21)
    await send(client, ipn(order_id, "confirming", payment_id=21))
    await settled(runtime)
    answer = await admin.get("/internal/payments/21")
    detail = answer.json()
    assert (detail["order_id"], detail["status"]) == (order_id, "finished")
    assert [(i["status"], i["result"]) for i in detail["ipns"]] == [
        ("waiting", "applied"),
        ("finished", "paid"),
        ("confirming", "stale"),
    ]
    assert '"payment_status": "waiting"' in detail["ipns"][0]["raw_body"]
    assert detail["flags"] == []
    missing = await admin.get("/internal/payments/999")
    assert (missing.status_code, missing.json()["error"]) == (404, "payment_not_found")


async def test_the_ipn_log_is_filtered_and_paged_by_id(
    client: httpx.AsyncClient, runtime: ServiceRuntime, admin: httpx.AsyncClient
) -> None:
    order_id = await paid_order(client, runtime, 31)
    await send(client, ipn(order_id, "finished", payment_id=31), secret="forged")
    forged = await admin.get("/internal/ipns", params={"signature_valid": "false"})
    assert [(i["result"], i["order_id"]) for i in forged.json()["items"]] == [
        ("invalid_signature", order_id)
    ]
    page = await admin.get("/internal/ipns", params={"order_id": order_id, "limit": 2})
    assert [i["result"] for i in page.json()["items"]] == ["invalid_signature", "paid"]
    older = await admin.get(
        "/internal/ipns", params={"order_id": order_id, "before": page.json()["next"]}
    )
    assert [i["result"] for i in older.json()["items"]] == ["applied"]
    paid = await admin.get("/internal/ipns", params={"result": "paid"})
    assert [i["payment_id"] for i in paid.json()["items"]] == ["31"]
