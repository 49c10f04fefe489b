"""Every delivery endpoint fuzzed from its OpenAPI description (issue #11): no request,
valid or not, gets a 5xx or an answer the description does not list, and without a
valid credential nothing changes but the fresh-link rate counters."""

import uuid

import httpx
import pytest
from delivery_support import INTERNAL_TOKEN, ORDER_TOKENS, Running

from bitloot_runtime.openapi import described_operations, served
from bitloot_testing.fuzz import Target, fuzz, unchanged_by

# Fresh-link requests are counted per client and per link by design: that is the limit on
# how many emails anyone can trigger.
COUNTED = frozenset({"rate_limits"})


@pytest.mark.slow
async def test_every_request_is_answered_as_described_and_only_a_credential_changes_state(
    delivery: Running,
) -> None:
    document = await served(delivery.app)
    order_id = str(uuid.uuid4())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=delivery.app)) as http:
        anonymous, changed = await unchanged_by(
            delivery.runtime.engine, fuzz(http, document, Target()), leave_out=COUNTED
        )
        internal = Target(
            wanted=lambda label: "/internal/" in label,
            headers={"authorization": f"Bearer {INTERNAL_TOKEN}"},
        )
        customer = Target(
            wanted=lambda label: label == "POST /orders/{order_id}/link",
            headers={"authorization": f"Bearer {ORDER_TOKENS.issue(uuid.UUID(order_id))}"},
            path_parameters={"order_id": order_id},
        )
        authorized = [await fuzz(http, document, internal), await fuzz(http, document, customer)]
    failures = anonymous.failures + [f for report in authorized for f in report.failures]
    assert failures == [], "\n".join(failures)
    assert changed == {}
    assert anonymous.operations == described_operations(document)
