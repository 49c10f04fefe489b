import hashlib
import hmac
import json

from nowpayments_harness import IPN_SECRET, Sandbox, create_invoice

IPN_FIELDS = {
    "payment_id", "invoice_id", "payment_status", "pay_address", "price_amount",
    "price_currency", "pay_amount", "actually_paid", "pay_currency", "order_id",
    "order_description", "purchase_id", "outcome_amount", "outcome_currency",
    "created_at", "updated_at",
}  # fmt: skip


def verified(headers: dict[str, str], raw: bytes) -> dict[str, object]:
    """The IPN body, checked as NOWPayments documents it (an independent computation)."""
    body: dict[str, object] = json.loads(raw)
    canonical = json.dumps(body, separators=(",", ":"), sort_keys=True)
    expected = hmac.new(IPN_SECRET.encode(), canonical.encode(), hashlib.sha512).hexdigest()
    assert hmac.compare_digest(headers["x-nowpayments-sig"], expected)
    assert headers["content-type"] == "application/json"
    assert raw == canonical.encode()
    return body


async def statuses_after_paying(sandbox: Sandbox, **pay: object) -> list[str]:
    invoice = await create_invoice(sandbox)
    await sandbox.client.post(f"/sandbox/invoices/{invoice['id']}/pay", json=pay)
    await sandbox.state.idle()
    return [str(verified(h, raw)["payment_status"]) for h, raw in sandbox.receiver.received]


async def test_paid_invoice_sends_signed_ipns_in_order(sandbox: Sandbox) -> None:
    statuses = await statuses_after_paying(sandbox)

    assert statuses == ["waiting", "confirming", "confirmed", "finished"]
    headers, raw = sandbox.receiver.received[-1]
    body = verified(headers, raw)
    assert set(body) == IPN_FIELDS
    assert body["order_id"] == "order-1"
    assert body["price_amount"] == 25.5
    assert body["actually_paid"] == body["pay_amount"]


async def test_outcomes_end_in_their_status(sandbox: Sandbox) -> None:
    assert await statuses_after_paying(sandbox, outcome="partially_paid") == [
        "waiting",
        "confirming",
        "partially_paid",
    ]


async def test_reordered_ipns_arrive_newest_first(sandbox: Sandbox) -> None:
    await sandbox.client.post("/sandbox/faults", json={"reorder_callbacks": True})

    statuses = await statuses_after_paying(sandbox, outcome="expired")

    assert statuses == ["expired", "waiting"]


async def test_duplicated_ipns_are_sent_again(sandbox: Sandbox) -> None:
    await sandbox.client.post("/sandbox/faults", json={"duplicate_callbacks": 1})

    statuses = await statuses_after_paying(sandbox, outcome="expired")

    assert statuses == ["waiting", "waiting", "expired", "expired"]


async def test_failed_ipn_is_retried_and_recorded(sandbox: Sandbox) -> None:
    sandbox.receiver.fail_first = 1

    statuses = await statuses_after_paying(sandbox, outcome="expired")

    assert statuses == ["waiting", "waiting", "expired"]
    ipns = (await sandbox.client.get("/sandbox/invoices")).json()[0]["payments"][0]["ipns"]
    assert [(i["attempts"], i["status_code"]) for i in ipns] == [(2, 200), (1, 200)]
