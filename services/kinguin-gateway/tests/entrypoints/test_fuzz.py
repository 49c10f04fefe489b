"""Every gateway endpoint fuzzed from its OpenAPI description (issue #11): no request,
valid or not, gets a 5xx or an answer the description does not list; without a valid
credential nothing changes but the webhook log, which records refused calls by design."""

import pytest
from kinguin_gateway_support import INTERNAL_TOKEN, WEBHOOK_SECRET, Gateway

from bitloot_runtime.openapi import described_operations
from bitloot_testing.fuzz import Target, fuzz, unchanged_by

REFUSALS_LOGGED = frozenset({"webhook_log"})


@pytest.mark.slow
async def test_requests_without_a_valid_credential_never_fail_and_change_nothing(
    gateway: Gateway,
) -> None:
    document = (await gateway.http.get("/openapi.json")).json()
    report, changed = await unchanged_by(
        gateway.runtime.engine,
        fuzz(gateway.http, document, Target(headers={"x-event-secret": "forged"})),
        leave_out=REFUSALS_LOGGED,
    )
    assert report.failures == [], "\n".join(report.failures)
    assert changed == {}
    assert report.operations == described_operations(document)


@pytest.mark.slow
async def test_requests_with_valid_credentials_never_fail(gateway: Gateway) -> None:
    document = (await gateway.http.get("/openapi.json")).json()
    internal = Target(
        wanted=lambda label: "/internal/" in label,
        headers={"authorization": f"Bearer {INTERNAL_TOKEN}"},
    )
    kinguin = Target(
        wanted=lambda label: label == "POST /kinguin/webhooks",
        headers={"x-event-secret": WEBHOOK_SECRET, "x-event-name": "order.status"},
    )
    failures = [
        *(await fuzz(gateway.http, document, internal)).failures,
        *(await fuzz(gateway.http, document, kinguin)).failures,
    ]
    assert failures == [], "\n".join(failures)
