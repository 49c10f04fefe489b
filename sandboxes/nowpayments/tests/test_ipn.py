import hashlib
import hmac
import time

from nowpayments_harness import (
    IPN_SECRET,
    Sandbox,
    create_invoice,
    payment_status,
    received,
)

# The fields of the documented IPN example, and `updated_at` that real IPNs carry.
IPN_FIELDS = {
    "payment_id", "parent_payment_id", "invoice_id", "payment_status", "pay_address",
    "payin_extra_id", "price_amount", "price_currency", "pay_amount", "actually_paid",
    "actually_paid_at_fiat", "pay_currency", "order_id", "order_description", "purchase_id",
    "outcome_amount", "outcome_currency", "payment_extra_ids", "fee", "updated_at",
}  # fmt: skip


async def statuses_after_paying(sandbox: Sandbox, **pay: object) -> list[str]:
    invoice = await create_invoice(sandbox)
    await sandbox.client.post(f"/sandbox/invoices/{invoice['id']}/pay", json=pay)
    await sandbox.state.idle()
    return [str(body["payment_status"]) for body in received(sandbox)]


async def ledger_ipns(sandbox: Sandbox) -> list[dict[str, object]]:
    ledger = (await sandbox.client.get("/sandbox/invoices")).json()
    ipns: list[dict[str, object]] = ledger[-1]["payments"][0]["ipns"]
    return ipns


async def test_paid_invoice_sends_signed_ipns_in_order(sandbox: Sandbox) -> None:
    statuses = await statuses_after_paying(sandbox)

    assert statuses == ["waiting", "confirming", "confirmed", "finished"]
    assert all(set(body) == IPN_FIELDS for body in received(sandbox))


async def test_ipn_body_has_the_documented_types_and_values(sandbox: Sandbox) -> None:
    started = int(time.time() * 1000)
    await statuses_after_paying(sandbox)

    body = received(sandbox)[-1]

    assert isinstance(body["payment_id"], int)
    assert isinstance(body["invoice_id"], int)
    assert isinstance(body["purchase_id"], str)
    assert isinstance(body["updated_at"], int)
    assert started <= body["updated_at"] <= time.time() * 1000
    assert (body["order_id"], body["parent_payment_id"]) == ("order-1", None)
    assert (body["price_amount"], body["actually_paid"], body["pay_amount"]) == (25.5,) * 3
    assert body["outcome_amount"] == 25.3725
    assert body["fee"] == {
        "currency": "usdttrc20",
        "depositFee": 0,
        "serviceFee": 0.1275,
        "withdrawalFee": 0,
    }


async def test_small_amounts_are_written_as_javascript_writes_them(sandbox: Sandbox) -> None:
    invoice = await create_invoice(sandbox, price_amount=1, pay_currency="btc")
    await sandbox.client.post(f"/sandbox/invoices/{invoice['id']}/pay", json={})
    await sandbox.state.idle()

    headers, raw = sandbox.receiver.received[-1]

    # Python's json would write 1.58e-05 and 8e-08.
    assert b'"pay_amount":0.0000158,' in raw
    assert b'"serviceFee":8e-8,' in raw
    signature = hmac.new(IPN_SECRET.encode(), raw, hashlib.sha512).hexdigest()
    assert headers["x-nowpayments-sig"] == signature


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
    ipns = await ledger_ipns(sandbox)
    assert [(i["attempts"], i["status_code"], i["dropped"]) for i in ipns] == [
        (2, 200, False),
        (1, 200, False),
    ]


async def test_dropped_ipns_are_not_sent_but_recorded_and_the_payment_moves_on(
    sandbox: Sandbox,
) -> None:
    await sandbox.client.post("/sandbox/faults", json={"drop_ipns": 2})

    statuses = await statuses_after_paying(sandbox)

    assert statuses == ["confirmed", "finished"]
    ipns = await ledger_ipns(sandbox)
    assert [(i["payment_status"], i["dropped"]) for i in ipns] == [
        ("waiting", True),
        ("confirming", True),
        ("confirmed", False),
        ("finished", False),
    ]
    assert (ipns[0]["attempts"], ipns[0]["sent_at"]) == (0, None)
    assert (await sandbox.client.get("/sandbox/faults")).json()["drop_ipns"] == 0


async def test_dropping_every_ipn_leaves_the_truth_to_the_status_call(sandbox: Sandbox) -> None:
    await sandbox.client.post("/sandbox/faults", json={"drop_all_ipns": True})

    statuses = await statuses_after_paying(sandbox)

    assert statuses == []
    assert all(i["dropped"] for i in await ledger_ipns(sandbox))
    [payment] = next(iter(sandbox.state.store.invoices.values())).payments
    assert (await payment_status(sandbox, payment.payment_id))["payment_status"] == "finished"
