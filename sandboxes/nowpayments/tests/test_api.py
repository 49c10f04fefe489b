import httpx
import pytest
from nowpayments_harness import STATUS_FIELDS, Sandbox, create_invoice, paid_invoice, payment_status

# The fields of the documented invoice object (the 201 example and its field table).
INVOICE_FIELDS = {
    "id", "token_id", "order_id", "order_description", "price_amount", "price_currency",
    "pay_currency", "ipn_callback_url", "invoice_url", "success_url", "cancel_url",
    "partially_paid_url", "payout_currency", "created_at", "updated_at", "is_fixed_rate",
    "is_fee_paid_by_user",
}  # fmt: skip


async def test_invoice_is_created_with_the_documented_fields_and_a_pay_url(
    sandbox: Sandbox,
) -> None:
    invoice = await create_invoice(sandbox)

    assert set(invoice) == INVOICE_FIELDS
    assert str(invoice["id"]).isdigit()
    assert invoice["price_amount"] == "25.5"
    assert invoice["order_id"] == "order-1"
    assert invoice["invoice_url"] == str(sandbox.client.base_url.join(f"/invoice/{invoice['id']}"))
    assert str(invoice["created_at"]).endswith("Z")
    assert (invoice["is_fixed_rate"], invoice["is_fee_paid_by_user"]) == (False, False)


async def test_invoice_keeps_the_documented_optional_fields(sandbox: Sandbox) -> None:
    invoice = await create_invoice(
        sandbox,
        partially_paid_url="http://shop.test/partly",
        is_fixed_rate=True,
        is_fee_paid_by_user=False,
    )

    assert invoice["partially_paid_url"] == "http://shop.test/partly"
    assert (invoice["is_fixed_rate"], invoice["is_fee_paid_by_user"]) == (True, False)
    assert invoice["cancel_url"] == "http://shop.test/cancel"


async def test_invoice_with_a_price_in_a_string_is_refused_as_documented(
    sandbox: Sandbox,
) -> None:
    response = await sandbox.client.post(
        "/v1/invoice", json={"price_amount": "25.50", "price_currency": "usd"}
    )

    assert response.status_code == 400
    assert response.json() == {
        "status": False,
        "statusCode": 400,
        "code": "INVALID_REQUEST_PARAMS",
        "message": '"price_amount" must be a number',
    }
    assert sandbox.state.store.invoices == {}


@pytest.mark.parametrize(
    ("field", "value"),
    [("price_amount", True), ("price_amount", -1), ("is_fixed_rate", "yes"), ("order_id", 7)],
)
async def test_invoice_with_a_field_of_the_wrong_kind_is_refused(
    sandbox: Sandbox, field: str, value: object
) -> None:
    body = {"price_amount": 1, "price_currency": "usd", field: value}

    response = await sandbox.client.post("/v1/invoice", json=body)

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_REQUEST_PARAMS"
    assert f'"{field}"' in response.json()["message"]


async def test_invoice_without_the_api_key_is_refused(sandbox: Sandbox) -> None:
    response = await sandbox.client.post(
        "/v1/invoice",
        json={"price_amount": 1, "price_currency": "usd"},
        headers={"x-api-key": "wrong"},
    )

    assert response.status_code == 403
    assert response.json() == {
        "status": False,
        "statusCode": 403,
        "code": "INVALID_API_KEY",
        "message": "Invalid api key",
    }
    assert sandbox.state.store.invoices == {}


async def test_invoice_without_price_is_refused_and_creates_nothing(sandbox: Sandbox) -> None:
    response = await sandbox.client.post("/v1/invoice", json={"price_currency": "usd"})

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_REQUEST_PARAMS"
    assert sandbox.state.store.invoices == {}


async def test_payment_status_has_the_documented_shape_and_follows_the_payment(
    sandbox: Sandbox,
) -> None:
    paid = await paid_invoice(sandbox)

    status = await payment_status(sandbox, paid["payment_id"])

    assert set(status) == STATUS_FIELDS
    assert status["payment_status"] == "finished"
    assert status["invoice_id"] == paid["invoice_id"]
    assert isinstance(status["payment_id"], int)
    assert isinstance(status["purchase_id"], int)
    assert status["actually_paid"] == status["pay_amount"] == 25.5
    assert status["outcome_amount"] == 25.3725
    assert status["payment_extra_ids"] is None
    assert status["type"] == "crypto2crypto"
    assert len(str(status["payin_hash"])) == len(str(status["payout_hash"])) == 64


async def test_payment_status_needs_only_the_api_key(sandbox: Sandbox) -> None:
    paid = await paid_invoice(sandbox)

    refused = await sandbox.client.get(
        f"/v1/payment/{paid['payment_id']}", headers={"x-api-key": "wrong"}
    )

    assert refused.status_code == 403
    assert (await sandbox.client.get(f"/v1/payment/{paid['payment_id']}")).status_code == 200
    assert (await sandbox.client.get("/v1/payment/1")).status_code == 404


async def test_rate_limited_calls_answer_429_then_succeed(sandbox: Sandbox) -> None:
    await sandbox.client.post("/sandbox/faults", json={"rate_limit_next": 1, "fail_next": 1})
    body = {"price_amount": 1, "price_currency": "usd"}

    limited = await sandbox.client.post("/v1/invoice", json=body)
    failed = await sandbox.client.post("/v1/invoice", json=body)
    passed = await sandbox.client.post("/v1/invoice", json=body)

    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "1"
    assert failed.status_code == 503
    assert passed.status_code == 201
    assert len(sandbox.state.store.invoices) == 1


async def test_auto_pay_pays_every_new_invoice(sandbox: Sandbox) -> None:
    await sandbox.client.post("/sandbox/config", json={"auto_pay": True})

    await create_invoice(sandbox)
    await sandbox.receiver.wait_for(4)
    await sandbox.state.idle()

    ledger = (await sandbox.client.get("/sandbox/invoices")).json()
    assert ledger[0]["payments"][0]["payment_status"] == "finished"


async def test_a_slow_call_answers_after_the_delay_and_still_creates_the_invoice(
    sandbox: Sandbox,
) -> None:
    await sandbox.client.post("/sandbox/faults", json={"slow_next": 1, "slow_ms": 300})
    body = {"price_amount": 1, "price_currency": "usd"}

    with pytest.raises(httpx.ReadTimeout):
        await sandbox.client.post("/v1/invoice", json=body, timeout=0.05)
    prompt = await sandbox.client.post("/v1/invoice", json=body, timeout=0.25)

    assert prompt.status_code == 201
    assert (await sandbox.client.get("/sandbox/faults")).json()["slow_next"] == 0
