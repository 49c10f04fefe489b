"""Every payments endpoint fuzzed from its OpenAPI description (issue #11): no request,
valid or not, gets a 5xx or an answer the description does not list; without a valid
credential nothing changes but the IPN logs and the claim page's rate-limit counters,
which record refused requests by design."""

import httpx
import pytest
from payments_support import SECRET, scalar
from sqlalchemy import func, select

from bitloot_payments.adapters.ipn_signature import sign
from bitloot_runtime.openapi import described_operations
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.tables import outbox
from bitloot_testing.bus import eventually
from bitloot_testing.fuzz import Target, fuzz, unchanged_by

# Refused IPNs, of payments and of payouts, are kept for the admins (with signature_valid
# false), and a refused claim still counts against the claim page's rate limits; nothing
# else moves.
REFUSALS_LOGGED = frozenset({"ipn_log", "payout_ipns", "rate_limits"})


async def published(runtime: ServiceRuntime) -> bool:
    waiting = select(func.count()).where(outbox.c.published_at.is_(None))
    return bool(await scalar(runtime, waiting) == 0)


async def document(client: httpx.AsyncClient) -> dict[str, object]:
    answer = await client.get("/openapi.json")
    assert answer.status_code == 200
    return dict(answer.json())


@pytest.mark.slow
async def test_requests_without_a_valid_credential_never_fail_and_change_nothing(
    runtime: ServiceRuntime, client: httpx.AsyncClient
) -> None:
    described = await document(client)
    # What the fixtures queued (the catalog's product.listed events) must be published
    # before the fingerprint: the relay marking a row published is not the fuzz's doing.
    assert await eventually(lambda: published(runtime), timeout=15), "the outbox did not drain"
    report, changed = await unchanged_by(
        runtime.engine,
        fuzz(client, described, Target(headers={"authorization": "Bearer forged"})),
        leave_out=REFUSALS_LOGGED,
    )
    assert report.failures == [], "\n".join(report.failures)
    assert changed == {}
    assert report.operations == described_operations(described)


@pytest.mark.slow
async def test_requests_with_valid_credentials_never_fail(
    client: httpx.AsyncClient, internal_headers: dict[str, str]
) -> None:
    described = await document(client)
    placed = await client.post(
        "/orders", json={"email": "a@example.com", "lines": [{"sku": "g-1", "qty": 1}]}
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    internal = await fuzz(
        client,
        described,
        Target(wanted=lambda label: "/internal/" in label, headers=internal_headers),
    )
    customer = await fuzz(
        client,
        described,
        Target(
            wanted=lambda label: label == "GET /orders/{order_id}",
            headers={"authorization": f"Bearer {order['order_token']}"},
            path_parameters={"order_id": order["order_id"]},
        ),
    )
    ipn = await fuzz(
        client,
        described,
        Target(
            wanted=lambda label: label == "POST /payments/ipn",
            sign=lambda body: {"x-nowpayments-sig": _sign(body)},
        ),
    )
    failures = internal.failures + customer.failures + ipn.failures
    assert failures == [], "\n".join(failures)


def _sign(body: bytes) -> str:
    try:
        return sign(body, SECRET)
    except ValueError:
        return "not-signable"
