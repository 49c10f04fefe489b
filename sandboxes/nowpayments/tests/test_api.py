import httpx
import pytest
from nowpayments_harness import Sandbox, create_invoice


async def test_invoice_has_the_real_fields_and_a_pay_url(sandbox: Sandbox) -> None:
    invoice = await create_invoice(sandbox)

    assert set(invoice) == {
        "id", "token_id", "order_id", "order_description", "price_amount", "price_currency",
        "pay_currency", "ipn_callback_url", "invoice_url", "success_url", "cancel_url",
        "created_at", "updated_at",
    }  # fmt: skip
    assert str(invoice["id"]).isdigit()
    assert invoice["price_amount"] == "25.5"
    assert invoice["order_id"] == "order-1"
    assert invoice["invoice_url"] == str(sandbox.client.base_url.join(f"/invoice/{invoice['id']}"))
    assert str(invoice["created_at"]).endswith("Z")


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


async def test_payment_status_follows_the_payment(sandbox: Sandbox) -> None:
    invoice = await create_invoice(sandbox)
    paid = await sandbox.client.post(f"/sandbox/invoices/{invoice['id']}/pay", json={})
    await sandbox.state.idle()

    response = await sandbox.client.get(f"/v1/payment/{paid.json()['payment_id']}")

    assert response.status_code == 200
    assert response.json()["payment_status"] == "finished"
    assert response.json()["invoice_id"] == int(str(invoice["id"]))
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
    assert passed.status_code == 200
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

    assert prompt.status_code == 200
    assert (await sandbox.client.get("/sandbox/faults")).json()["slow_next"] == 0
