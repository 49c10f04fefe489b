"""Every fulfillment endpoint fuzzed from its OpenAPI description (issue #11): no
request, valid or not, gets a 5xx or an answer the description does not list, and
without the internal token nothing changes."""

import httpx
import pytest
from fulfillment_support import INTERNAL_TOKEN
from starlette.applications import Starlette

from bitloot_runtime.openapi import described_operations, served
from bitloot_runtime.service import ServiceRuntime
from bitloot_testing.fuzz import Target, fuzz, unchanged_by


@pytest.mark.slow
async def test_every_request_is_answered_as_described_and_only_the_token_changes_state(
    fulfillment_app: tuple[ServiceRuntime, Starlette],
) -> None:
    runtime, app = fulfillment_app
    document = await served(app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
        http.base_url = httpx.URL("http://fulfillment.test")
        anonymous, changed = await unchanged_by(runtime.engine, fuzz(http, document, Target()))
        internal = Target(
            wanted=lambda label: "/internal/" in label,
            headers={"authorization": f"Bearer {INTERNAL_TOKEN}"},
        )
        authorized = await fuzz(http, document, internal)
    assert anonymous.failures + authorized.failures == [], "\n".join(
        anonymous.failures + authorized.failures
    )
    assert changed == {}
    # Every HTTP operation; the WebSocket has tests of its own (test_live.py).
    assert anonymous.operations == described_operations(document) - {
        ("/ws/orders/{order_id}", "websocket")
    }
