"""Who may call what: every guarded endpoint of the five services against every kind of
caller, as one table, on the services running for real.

Callers: nobody, another order's token, the order's own token, its token expired, a
token signed with a key the services do not trust, an admin session, an expired admin
session, and the internal service token. A refused call changes nothing: after the
table has run, the order is exactly as it was.
"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from bitloot_demo import scenario
from bitloot_demo.stack import ADMIN_USER, Stack
from bitloot_runtime import tokens

NOBODY, OTHER, OWN, EXPIRED, FORGED, ADMIN, ADMIN_EXPIRED, INTERNAL = (
    "nobody",
    "other order's token",
    "own token",
    "expired token",
    "forged token",
    "admin",
    "expired admin",
    "internal token",
)
ORDER_CALLERS = (NOBODY, OTHER, OWN, EXPIRED, FORGED, ADMIN, ADMIN_EXPIRED, INTERNAL)

# (service, method, path; {caller: status}); `{order}` is the order under test.
ORDER_ONLY = {NOBODY: 401, OTHER: 403, OWN: 200, EXPIRED: 401, FORGED: 401}
NOT_ORDER = {ADMIN: 401, ADMIN_EXPIRED: 401, INTERNAL: 401}
INTERNAL_ONLY = {caller: 401 for caller in ORDER_CALLERS if caller != INTERNAL} | {INTERNAL: 200}
ADMIN_ONLY = {caller: 401 for caller in ORDER_CALLERS if caller != ADMIN} | {ADMIN: 200}
TABLE: tuple[tuple[str, str, str, dict[str, int]], ...] = (
    ("payments", "GET", "/orders/{order}", ORDER_ONLY | NOT_ORDER),
    ("delivery", "POST", "/orders/{order}/link", ORDER_ONLY | NOT_ORDER | {OWN: 201}),
    ("payments", "GET", "/internal/orders/{order}", INTERNAL_ONLY),
    ("payments", "GET", "/internal/payments", INTERNAL_ONLY),
    ("kinguin-gateway", "GET", "/internal/reservations", INTERNAL_ONLY),
    ("fulfillment", "GET", "/internal/sagas", INTERNAL_ONLY),
    ("delivery", "GET", "/internal/orders/{order}/audit", INTERNAL_ONLY),
    ("delivery", "GET", "/internal/dead-letters", INTERNAL_ONLY),
    ("admin", "GET", "/admin/api/orders", ADMIN_ONLY),
    ("admin", "GET", "/admin/api/orders/{order}", ADMIN_ONLY),
    ("admin", "GET", "/admin/api/dead-letters", ADMIN_ONLY),
)
# The live-status socket accepts the order's own token and an admin session.
WEBSOCKET = {
    NOBODY: 4401,
    OTHER: 4403,
    OWN: None,
    EXPIRED: 4401,
    FORGED: 4401,
    ADMIN: None,
    ADMIN_EXPIRED: 4401,
    INTERNAL: 4401,
}


def base_url(stack: Stack, service: str) -> str:
    return {
        "payments": stack.payments,
        "kinguin-gateway": stack.kinguin_gateway,
        "fulfillment": stack.fulfillment,
        "delivery": stack.delivery,
        "admin": stack.admin,
    }[service]


def order_signer(private_key: str) -> tokens.OrderTokenSigner:
    return tokens.OrderTokenSigner("k1", tokens.load_private_key(private_key), timedelta(hours=1))


def admin_signer(private_key: str) -> tokens.AdminTokenSigner:
    return tokens.AdminTokenSigner("a1", tokens.load_private_key(private_key), timedelta(hours=1))


async def callers(
    http: httpx.AsyncClient, stack: Stack, order: UUID, other_token: str
) -> dict[str, str | None]:
    """The token each kind of caller presents (None: no Authorization header)."""
    login = await http.post(
        f"{stack.admin}/admin/login",
        json={"username": ADMIN_USER, "password": stack.admin_password},
    )
    assert login.status_code == 200, login.text
    long_ago = datetime.now(UTC) - timedelta(days=2)
    stranger, _ = tokens.generate_key_pair()
    return {
        NOBODY: None,
        OTHER: other_token,
        OWN: order_signer(stack.order_token_private_key).issue(order),
        EXPIRED: order_signer(stack.order_token_private_key).issue(order, now=long_ago),
        FORGED: order_signer(stranger).issue(order),
        ADMIN: login.json()["token"],
        ADMIN_EXPIRED: admin_signer(stack.admin_session_private_key).issue(
            ADMIN_USER, now=long_ago
        ),
        INTERNAL: stack.internal_token,
    }


async def place(http: httpx.AsyncClient, stack: Stack, email: str) -> tuple[UUID, str]:
    answer = await http.post(
        f"{stack.payments}/orders", json={"email": email, "lines": [{"sku": "cs-source", "qty": 1}]}
    )
    assert answer.status_code == 201, answer.text
    return UUID(answer.json()["order_id"]), answer.json()["order_token"]


async def socket_outcome(stack: Stack, order: UUID, token: str | None) -> int | None:
    """The close code the live-status socket answered with, or None if it sent a status."""
    url = stack.fulfillment.replace("http://", "ws://") + f"/ws/orders/{order}"
    if token is not None:
        url += f"?token={token}"
    try:
        async with websockets.connect(url, open_timeout=10) as socket:
            await socket.recv()
            return None
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


async def snapshot(http: httpx.AsyncClient, stack: Stack, order: UUID) -> dict[str, object]:
    """What the services hold about the order, to show refused calls changed nothing."""
    internal = {"Authorization": f"Bearer {stack.internal_token}"}
    urls = {
        "order": f"{stack.payments}/internal/orders/{order}",
        "emails": f"{stack.delivery}/internal/orders/{order}/emails",
        "key audit": f"{stack.delivery}/internal/orders/{order}/audit",
    }
    return {name: (await http.get(url, headers=internal)).json() for name, url in urls.items()}


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 60) -> None:
    deadline = datetime.now(UTC) + timedelta(seconds=timeout)
    while not await check():
        assert datetime.now(UTC) < deadline, "the order was not fulfilled in time"
        await asyncio.sleep(0.3)


@pytest.mark.slow
async def test_every_guarded_endpoint_answers_each_kind_of_caller_as_the_table_says(
    stack: Stack,
) -> None:
    async with httpx.AsyncClient(timeout=15) as http:
        await scenario.seed_catalog(http, stack)
        order, _ = await place(http, stack, "owner@example.com")
        _, other_token = await place(http, stack, "someone.else@example.com")
        internal = {"Authorization": f"Bearer {stack.internal_token}"}

        async def fulfilled() -> bool:
            answer = await http.get(
                f"{stack.fulfillment}/internal/sagas",
                params={"order_id": str(order)},
                headers=internal,
            )
            items = answer.json()["items"]
            return bool(items) and items[0]["state"] == "fulfilled"

        await eventually(fulfilled)
        presented = await callers(http, stack, order, other_token)
        before = await snapshot(http, stack, order)
        found: dict[tuple[str, str, str], int | None] = {}
        wanted: dict[tuple[str, str, str], int | None] = {}
        for service, method, path, expected in TABLE:
            for caller, status in expected.items():
                token = presented[caller]
                headers = {} if token is None else {"Authorization": f"Bearer {token}"}
                url = base_url(stack, service) + path.format(order=order)
                answer = await http.request(method, url, headers=headers)
                wanted[(f"{method} {path}", service, caller)] = status
                found[(f"{method} {path}", service, caller)] = answer.status_code
        for caller, code in WEBSOCKET.items():
            key = ("WS /ws/orders/{order}", "fulfillment", caller)
            wanted[key] = code
            found[key] = await socket_outcome(stack, order, presented[caller])
        differences = {
            key: (wanted[key], found[key]) for key in wanted if wanted[key] != found[key]
        }
        assert differences == {}, "\n".join(
            f"{row}: expected {want}, got {got}" for row, (want, got) in differences.items()
        )
        # Of the whole table only the own token's fresh link acted (audited, no email):
        # every refused call left the order as it was.
        after = await snapshot(http, stack, order)
        assert after["order"] == before["order"]
        assert after["emails"] == before["emails"]
        audit = after["key audit"]
        assert isinstance(audit, dict)
        assert [(i["action"], i["actor"]) for i in audit["items"]] == [("link_issued", "customer")]


def test_the_table_covers_every_kind_of_caller_for_every_endpoint() -> None:
    for _service, _method, path, expected in TABLE:
        assert set(expected) == set(ORDER_CALLERS), path
    assert set(WEBSOCKET) == set(ORDER_CALLERS)
