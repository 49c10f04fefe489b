"""Hostile bodies at every public edge: each gets a clear 4xx with a machine-readable
reason, never a 5xx, and changes nothing.

The edges: checkout, the NOWPayments IPN, the Kinguin webhook, a fresh reveal link and
the admin login, each sent an oversize body, the wrong content type, invalid UTF-8,
deeply nested JSON, duplicate keys, a huge number and a body that is not an object.
"""

import json

import httpx
import pytest

from bitloot_demo.stack import Stack

NESTED = b'{"a":' * 10_000 + b"1" + b"}" * 10_000
BODIES: dict[str, tuple[bytes, str]] = {
    "oversize": (b'{"email": "' + b"a" * 2_000_000 + b'"}', "application/json"),
    "wrong content type": (b"email=a@example.com", "application/x-www-form-urlencoded"),
    "invalid utf-8": (b'{"email": "\xff\xfe"}', "application/json"),
    "deeply nested": (NESTED, "application/json"),
    "duplicate keys": (b'{"email": "a@example.com", "email": "b@example.com"}', "application/json"),
    "huge number": (b'{"price_amount": 1' + b"0" * 5000 + b"}", "application/json"),
    "not an object": (b"[1, 2, 3]", "application/json"),
    "not json": (b"{not json", "application/json"),
}


def edges(stack: Stack) -> dict[str, str]:
    order = "00000000-0000-4000-8000-000000000000"
    return {
        "checkout": f"{stack.payments}/orders",
        "ipn": f"{stack.payments}/payments/ipn",
        "kinguin webhook": f"{stack.kinguin_gateway}/kinguin/webhooks",
        "fresh link": f"{stack.delivery}/orders/{order}/link",
        "admin login": f"{stack.admin}/admin/login",
    }


async def orders_known(http: httpx.AsyncClient, stack: Stack) -> object:
    internal = {"Authorization": f"Bearer {stack.internal_token}"}
    return (await http.get(f"{stack.payments}/internal/orders", headers=internal)).json()


@pytest.mark.slow
async def test_every_public_edge_refuses_hostile_bodies_with_a_clear_4xx(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        before = await orders_known(http, stack)
        answers: dict[tuple[str, str], tuple[int, str | None]] = {}
        for edge, url in edges(stack).items():
            for case, (body, content_type) in BODIES.items():
                answer = await http.post(url, content=body, headers={"content-type": content_type})
                reason = None
                if answer.content:
                    try:
                        document = json.loads(answer.content)
                    except ValueError:
                        document = None
                    if isinstance(document, dict):
                        reason = document.get("error")
                answers[(edge, case)] = (answer.status_code, reason)
        bad = {
            key: found
            for key, found in answers.items()
            if not 400 <= found[0] < 500 or (found[0] != 401 and not found[1])
        }
        assert bad == {}, "\n".join(f"{k}: {v}" for k, v in bad.items())
        assert await orders_known(http, stack) == before
