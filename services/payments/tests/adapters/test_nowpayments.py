"""The NOWPayments client against the NOWPayments sandbox, served for real on a port, with
its injectable faults (429, 503, slow answers)."""

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from uuid import uuid4

import httpx
import pytest

from bitloot_payments.adapters.nowpayments import (
    NowPaymentsClient,
    NowPaymentsRateLimited,
    NowPaymentsRejected,
    NowPaymentsTimeout,
    NowPaymentsUnavailable,
    RetryPolicy,
)
from bitloot_runtime.metrics import RuntimeMetrics
from bitloot_runtime.outbound import MeteredTransport
from bitloot_sandbox_nowpayments.config import NowPaymentsSandboxConfig
from bitloot_sandbox_nowpayments.sandbox import NowPaymentsSandbox
from bitloot_sandbox_nowpayments.server import running_app
from bitloot_testing.net import free_port

API_KEY = "test-nowpayments-api-key"
CALLBACK = "https://shop.bitloot.test/payments/ipn"
FAST = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.02)


@pytest.fixture
async def sandbox() -> AsyncIterator[tuple[str, NowPaymentsSandbox]]:
    config = NowPaymentsSandboxConfig(api_key=API_KEY, port=0)
    async with running_app(config) as (base_url, app):
        yield base_url, app.state.sandbox


def client_on(
    sandbox: tuple[str, NowPaymentsSandbox],
    http: httpx.AsyncClient,
    api_key: str = API_KEY,
    timeout: float = 5.0,
) -> NowPaymentsClient:
    return NowPaymentsClient(sandbox[0], api_key, http, timeout=httpx.Timeout(timeout), retry=FAST)


async def test_an_invoice_is_created_for_the_order_with_our_callback(
    sandbox: tuple[str, NowPaymentsSandbox], http: httpx.AsyncClient
) -> None:
    order_id = uuid4()
    invoice = await client_on(sandbox, http).create_invoice(
        order_id, Decimal("27.25000000"), "usd", "BitLoot order", CALLBACK
    )
    [stored] = sandbox[1].store.invoices.values()
    assert invoice.id == str(stored.id)
    assert invoice.invoice_url.startswith(sandbox[0])
    assert (stored.order_id, stored.price_amount, stored.price_currency) == (
        str(order_id),
        Decimal("27.25"),
        "usd",
    )
    assert stored.ipn_callback_url == CALLBACK


async def test_429_and_5xx_are_retried_until_an_invoice_is_created(
    sandbox: tuple[str, NowPaymentsSandbox], http: httpx.AsyncClient
) -> None:
    sandbox[1].faults.update({"rate_limit_next": 1, "fail_next": 1})
    invoice = await client_on(sandbox, http).create_invoice(
        uuid4(), Decimal(5), "usd", "d", CALLBACK
    )
    assert invoice.id
    assert (sandbox[1].faults.rate_limit_next, sandbox[1].faults.fail_next) == (0, 0)


async def test_an_outage_longer_than_the_retries_is_transient_after_every_attempt(
    sandbox: tuple[str, NowPaymentsSandbox], http: httpx.AsyncClient
) -> None:
    sandbox[1].faults.update({"fail_next": 4})
    with pytest.raises(NowPaymentsUnavailable, match="503") as raised:
        await client_on(sandbox, http).create_invoice(uuid4(), Decimal(5), "usd", "d", CALLBACK)
    assert raised.value.status == 503
    assert sandbox[1].faults.fail_next == 1, "three attempts in all"
    assert sandbox[1].store.invoices == {}


async def test_rate_limiting_that_lasts_is_a_typed_error(
    sandbox: tuple[str, NowPaymentsSandbox], http: httpx.AsyncClient
) -> None:
    sandbox[1].faults.update({"rate_limit_next": 3})
    with pytest.raises(NowPaymentsRateLimited) as raised:
        await client_on(sandbox, http).create_invoice(uuid4(), Decimal(5), "usd", "d", CALLBACK)
    assert raised.value.retry_after == 1.0


async def test_a_refusal_is_permanent_and_not_retried(
    sandbox: tuple[str, NowPaymentsSandbox], http: httpx.AsyncClient
) -> None:
    with pytest.raises(NowPaymentsRejected, match="403"):
        await client_on(sandbox, http, api_key="wrong").create_invoice(
            uuid4(), Decimal(5), "usd", "d", CALLBACK
        )
    assert sandbox[1].store.invoices == {}


async def test_a_slow_answer_times_out_and_is_retried(
    sandbox: tuple[str, NowPaymentsSandbox], http: httpx.AsyncClient
) -> None:
    sandbox[1].faults.update({"slow_next": 1, "slow_ms": 1000})
    invoice = await client_on(sandbox, http, timeout=0.2).create_invoice(
        uuid4(), Decimal(5), "usd", "d", CALLBACK
    )
    assert invoice.id
    assert sandbox[1].faults.slow_next == 0


async def test_a_provider_that_never_answers_in_time_is_a_timeout_error(
    sandbox: tuple[str, NowPaymentsSandbox], http: httpx.AsyncClient
) -> None:
    sandbox[1].faults.update({"slow_next": 3, "slow_ms": 1000})
    with pytest.raises(NowPaymentsTimeout, match="timed out"):
        await client_on(sandbox, http, timeout=0.2).create_invoice(
            uuid4(), Decimal(5), "usd", "d", CALLBACK
        )
    assert sandbox[1].faults.slow_next == 0, "three attempts in all"


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 5])
def test_backoff_grows_is_jittered_and_capped(attempt: int) -> None:
    policy = RetryPolicy(attempts=6, base_delay=0.5, max_delay=4.0)
    ceiling = min(4.0, 0.5 * 2 ** (attempt - 1))
    delays = {policy.delay(attempt) for _ in range(50)}
    assert all(ceiling / 2 <= d <= ceiling for d in delays)
    assert len(delays) > 1, "jittered"


def test_a_retry_after_is_honoured_up_to_the_cap() -> None:
    policy = RetryPolicy(base_delay=0.1, max_delay=2.0)
    assert policy.delay(1, asked=1.0) == 1.0
    assert policy.delay(1, asked=30.0) == 2.0


async def test_the_invoice_request_is_written_as_documented(
    sandbox: tuple[str, NowPaymentsSandbox],
) -> None:
    """``price_amount`` a JSON number, digit for digit; the buyer's way back included."""
    sent: list[bytes] = []

    async def record(request: httpx.Request) -> None:
        sent.append(request.content)

    async with httpx.AsyncClient(event_hooks={"request": [record]}) as recording:
        order_id = uuid4()
        await client_on(sandbox, recording).create_invoice(
            order_id,
            Decimal("1234567890.12345678"),
            "usd",
            "BitLoot order",
            CALLBACK,
            success_url=f"https://shop.bitloot.test/orders/{order_id}/paid",
            cancel_url=f"https://shop.bitloot.test/orders/{order_id}/cancelled",
        )
    [body] = sent
    assert body.startswith(b'{"price_amount":1234567890.12345678,')
    document = json.loads(body, parse_float=Decimal)
    assert document["price_amount"] == Decimal("1234567890.12345678")
    [stored] = sandbox[1].store.invoices.values()
    assert stored.success_url == f"https://shop.bitloot.test/orders/{order_id}/paid"
    assert stored.cancel_url == f"https://shop.bitloot.test/orders/{order_id}/cancelled"


def outbound(metrics: RuntimeMetrics, operation: str, outcome: str) -> float:
    labels = {"service": "payments", "peer": "nowpayments", "operation": operation}
    found = metrics.registry.get_sample_value(
        "bitloot_outbound_requests_total", {**labels, "outcome": outcome}
    )
    return found or 0.0


async def test_each_call_is_counted_by_operation_and_outcome_retries_included(
    sandbox: tuple[str, NowPaymentsSandbox],
) -> None:
    metrics = RuntimeMetrics("payments")
    sandbox[1].faults.update({"rate_limit_next": 1, "fail_next": 1})
    transport = MeteredTransport("nowpayments", metrics.outbound)
    async with httpx.AsyncClient(transport=transport) as http:
        client = client_on(sandbox, http)
        invoice = await client.create_invoice(uuid4(), Decimal(5), "usd", "d", CALLBACK)
        sandbox[1].faults.update({"slow_next": 3, "slow_ms": 1000})
        with pytest.raises(NowPaymentsTimeout):
            await client_on(sandbox, http, timeout=0.2).payment("1")
    counted = {
        outcome: outbound(metrics, "create_invoice", outcome)
        for outcome in ("ok", "client_error", "server_error")
    }
    assert counted == {"ok": 1, "client_error": 1, "server_error": 1}
    assert outbound(metrics, "get_payment", "timeout") == 3
    text = metrics.render()[0].decode()
    assert 'bitloot_outbound_request_duration_seconds_count{operation="create_invoice"' in text
    assert invoice.id not in text


async def test_a_provider_that_refuses_connections_is_a_network_error() -> None:
    metrics = RuntimeMetrics("payments")
    transport = MeteredTransport("nowpayments", metrics.outbound)
    async with httpx.AsyncClient(transport=transport) as http:
        client = NowPaymentsClient(f"http://127.0.0.1:{free_port()}", API_KEY, http, retry=FAST)
        with pytest.raises(NowPaymentsUnavailable):
            await client.payment("1")
    assert outbound(metrics, "get_payment", "network_error") == 3
