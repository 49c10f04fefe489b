"""Every gateway endpoint fuzzed from its OpenAPI description (issue #11): no request,
valid or not, gets a 5xx or an answer the description does not list; without a valid
credential nothing changes but the webhook log, which records refused calls by design."""

import pytest
from kinguin_gateway_support import INTERNAL_TOKEN, WEBHOOK_SECRET, Gateway

from bitloot_runtime.openapi import described_operations
from bitloot_testing.fuzz import HOSTILE_BODIES, Target, database_state, fuzz, refusal, unchanged_by

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


async def test_an_authenticated_webhook_with_a_hostile_body_is_a_clear_400_and_changes_nothing(
    gateway: Gateway,
) -> None:
    headers = {"x-event-secret": WEBHOOK_SECRET, "x-event-name": "order.status"}
    answers: dict[str, tuple[int, str | None]] = {}
    before = await database_state(gateway.runtime.engine, REFUSALS_LOGGED)
    for case, (body, content_type) in HOSTILE_BODIES.items():
        answer = await gateway.http.post(
            "/kinguin/webhooks", content=body, headers={**headers, "content-type": content_type}
        )
        answers[case] = refusal(answer)
    assert await database_state(gateway.runtime.engine, REFUSALS_LOGGED) == before
    assert {
        case for case, (status, reason) in answers.items() if status >= 500 or not reason
    } == set()
    assert answers["oversize"] == (413, "body_too_large")
    assert answers["duplicate keys"] == (400, "duplicate_json_key")
    # A form is not JSON: the webhook reads any content type, and refuses what it cannot parse.
    assert answers["wrong content type"] == (400, "malformed_json")
    assert answers["not an object"] == (400, "invalid_webhook")
