"""Hostile bodies at every edge that reads a body: each gets a clear 4xx with a
machine-readable reason, never a 5xx, and changes nothing.

The edges: checkout, the NOWPayments IPN, the Kinguin webhook, a fresh reveal link, the
admin login, and the catalog's internal ``PUT`` (with the internal token, so that its
body parser is reached; the Kinguin webhook with its secret is covered by the gateway's
own tests, which hold the secret). Each is sent the bodies of `HOSTILE_BODIES`: oversize,
the wrong content type, invalid UTF-8, deeply nested JSON, a key given twice, numbers
too large, a lone surrogate, a body that is not an object and one that is not JSON.
"""

import httpx
import pytest

from bitloot_launch.inprocess import Stack
from bitloot_testing.fuzz import HOSTILE_BODIES, refusal

ORDER = "00000000-0000-4000-8000-000000000000"


def edges(stack: Stack) -> dict[str, tuple[str, str, dict[str, str]]]:
    """Name: (method, URL, headers of a valid caller where the edge needs one)."""
    internal = {"authorization": f"Bearer {stack.internal_token}"}
    return {
        "checkout": ("POST", f"{stack.payments}/orders", {}),
        "ipn": ("POST", f"{stack.payments}/payments/ipn", {}),
        "kinguin webhook": ("POST", f"{stack.kinguin_gateway}/kinguin/webhooks", {}),
        "fresh link": ("POST", f"{stack.delivery}/orders/{ORDER}/link", {}),
        "admin login": ("POST", f"{stack.admin}/admin/login", {}),
        "catalog product": ("PUT", f"{stack.payments}/internal/products/hostile-sku", internal),
    }


async def state(http: httpx.AsyncClient, stack: Stack) -> list[object]:
    """What a hostile body could have changed: orders, the catalog, reservations, sagas."""
    internal = {"Authorization": f"Bearer {stack.internal_token}"}
    urls = [
        f"{stack.payments}/internal/orders",
        f"{stack.payments}/internal/products",
        f"{stack.kinguin_gateway}/internal/reservations",
        f"{stack.fulfillment}/internal/sagas",
    ]
    return [(await http.get(url, headers=internal)).json() for url in urls]


@pytest.mark.slow
async def test_every_edge_refuses_hostile_bodies_with_a_clear_4xx(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        before = await state(http, stack)
        answers: dict[tuple[str, str], tuple[int, str | None]] = {}
        for edge, (method, url, headers) in edges(stack).items():
            for case, (body, content_type) in HOSTILE_BODIES.items():
                answer = await http.request(
                    method, url, content=body, headers={**headers, "content-type": content_type}
                )
                answers[(edge, case)] = refusal(answer)
        bad = {
            key: found
            for key, found in answers.items()
            if not 400 <= found[0] < 500 or not found[1]
        }
        assert bad == {}, "\n".join(f"{k}: {v}" for k, v in bad.items())
        assert await state(http, stack) == before
    # The shared JSON reader names the problem, wherever it is used.
    assert answers[("checkout", "duplicate keys")] == (400, "duplicate_json_key")
    assert answers[("catalog product", "duplicate keys")] == (400, "duplicate_json_key")
    assert answers[("catalog product", "oversize")] == (413, "body_too_large")
    assert answers[("catalog product", "wrong content type")] == (415, "unsupported_media_type")
