"""The callers, requests and snapshots of the authorization table (test_authorization.py):
how each kind of caller presents itself, what each row sends, and what the services hold
before and after; and every route the services serve, read from their apps.
"""

import asyncio
import importlib
import json
import re
import secrets
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4

import httpx
import websockets
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from websockets.exceptions import ConnectionClosed

from bitloot_admin.adapters.unit_of_work import AdminUnitOfWork
from bitloot_admin.domain.roles import Role
from bitloot_admin.handlers.accounts import CreateAdmin
from bitloot_admin.settings import Settings as AdminSettings
from bitloot_delivery.domain.links import RevealLinks
from bitloot_delivery.settings import Settings as DeliverySettings
from bitloot_kinguin_gateway.settings import Settings as GatewaySettings
from bitloot_launch import catalog, wiring
from bitloot_launch.inprocess import ADMIN_USER, Stack
from bitloot_payments.settings import Settings as PaymentsSettings
from bitloot_runtime import tokens
from bitloot_runtime.db import create_engine
from bitloot_runtime.settings import EdgeSettings, load_settings
from bitloot_runtime.signatures import hmac_sha512_hex

Outcome = int | str
SettingsT = TypeVar("SettingsT", bound=EdgeSettings)
SERVICES = ("payments", "kinguin-gateway", "fulfillment", "delivery", "admin")

NOBODY, OTHER, OWN, EXPIRED, FORGED = (
    "nobody",
    "other order's token",
    "own token",
    "expired token",
    "forged token",
)
ADMIN, ADMIN_EXPIRED, BROWSER, NO_CSRF, INTERNAL = (
    "admin bearer",
    "expired admin",
    "admin browser",
    "admin cookie without CSRF token",
    "internal token",
)
# Every row answers each of these; the rows of the provider callbacks and of the reveal
# links add the callers that present those credentials.
COMMON = (NOBODY, OTHER, OWN, EXPIRED, FORGED, ADMIN, ADMIN_EXPIRED, BROWSER, NO_CSRF, INTERNAL)
# The admin callers above are the stack's first admin, an owner; these two hold the
# narrower roles (accounts `add_role_accounts` creates), and every row of a route that
# needs an admin session answers them too.
VIEWER, OPERATOR = ("viewer bearer", "operator bearer")
ROLE_CALLERS = (VIEWER, OPERATOR)
ROLE_ACCOUNTS = {VIEWER: ("vera", "viewer"), OPERATOR: ("otto", "operator")}
ROLE_PASSWORD = secrets.token_urlsafe(16)
KINGUIN_SECRET, WRONG_SECRET, KINGUIN_SIGNED, WRONG_SIGNATURE = (
    "Kinguin's secret",
    "wrong webhook secret",
    "Kinguin's signature",
    "wrong webhook signature",
)
IPN_SIGNED, WRONG_IPN_SIGNATURE = ("NOWPayments' signature", "wrong IPN signature")
LINK, LINK_EXPIRED, LINK_TAMPERED, LINK_OTHER = (
    "reveal link",
    "expired link",
    "tampered link",
    "other order's link",
)
LINKS = (LINK, LINK_EXPIRED, LINK_TAMPERED, LINK_OTHER)
WEBHOOK = (KINGUIN_SECRET, WRONG_SECRET, KINGUIN_SIGNED, WRONG_SIGNATURE)
CALLERS = (*COMMON, *ROLE_CALLERS, *WEBHOOK, IPN_SIGNED, WRONG_IPN_SIGNATURE, *LINKS)


@dataclass(frozen=True)
class Request:
    """What a row sends besides the caller's credentials."""

    content: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Presenter:
    """How each caller presents itself: headers (which may sign the body) or a link."""

    headers: Callable[[str, bytes], dict[str, str]]
    links: dict[str, str]


def json_request(document: object) -> Request:
    return Request(json.dumps(document).encode(), (("content-type", "application/json"),))


def order_signer(private_key: str) -> tokens.OrderTokenSigner:
    return tokens.OrderTokenSigner(
        wiring.ORDER_TOKEN_KEY_ID, tokens.load_private_key(private_key), timedelta(hours=1)
    )


def admin_signer(private_key: str) -> tokens.AdminTokenSigner:
    return tokens.AdminTokenSigner(
        wiring.ADMIN_SESSION_KEY_ID, tokens.load_private_key(private_key), timedelta(hours=1)
    )


def tampered(token: str) -> str:
    """The token with one character of its signature changed."""
    return token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]


@dataclass(frozen=True)
class Secrets:
    """The provider and link secrets the stack was started with."""

    ipn: str
    webhook: str
    webhook_header: str
    links: RevealLinks


@dataclass(frozen=True)
class World:
    """The orders under test and the ids the table's paths name."""

    order: UUID
    other: UUID
    other_token: str
    payment: str
    ipn: int
    reservation: str
    webhook: int
    product: dict[str, object]
    finished_ipn: bytes


def presenter(stack: Stack, world: World, keys: Secrets, csrf: str) -> Presenter:
    """Each caller's credentials. The admin session is the token the login issues (signed
    with the session key), as a Bearer header or, for the browser, the session cookie
    with the CSRF cookie and its copy in the form or the ``X-CSRF-Token`` header."""
    long_ago = datetime.now(UTC) - timedelta(days=2)
    stranger, _ = tokens.generate_key_pair()
    admin = admin_signer(stack.admin_session_private_key)
    order_tokens = order_signer(stack.order_token_private_key)
    bearers = {
        OTHER: world.other_token,
        OWN: order_tokens.issue(world.order),
        EXPIRED: order_tokens.issue(world.order, now=long_ago),
        FORGED: order_signer(stranger).issue(world.order),
        ADMIN_EXPIRED: admin.issue(ADMIN_USER, now=long_ago),
        INTERNAL: stack.internal_token,
    }
    # A logout (a row of the table) revokes its session: each request gets a new one.
    sessions = {ADMIN: ADMIN_USER} | {caller: name for caller, (name, _) in ROLE_ACCOUNTS.items()}
    # Another site can make the browser send its cookies, but not read the CSRF token
    # (its form carries one that does not match).
    other_csrf = secrets.token_urlsafe(32)
    link = keys.links.issue(world.order)

    def headers(caller: str, body: bytes) -> dict[str, str]:
        if caller in sessions:
            return {"authorization": f"Bearer {admin.issue(sessions[caller])}"}
        if caller == BROWSER:
            cookie = f"bitloot_admin={admin.issue(ADMIN_USER)}; bitloot_admin_csrf={csrf}"
            return {"cookie": cookie, "x-csrf-token": csrf}
        if caller == NO_CSRF:
            return {
                "cookie": f"bitloot_admin={admin.issue(ADMIN_USER)}; "
                f"bitloot_admin_csrf={other_csrf}"
            }
        if caller in bearers:
            return {"authorization": f"Bearer {bearers[caller]}"}
        if caller in (KINGUIN_SECRET, WRONG_SECRET):
            secret = keys.webhook if caller == KINGUIN_SECRET else "wrong"
            return {keys.webhook_header: secret}
        if caller in (KINGUIN_SIGNED, WRONG_SIGNATURE):
            secret = keys.webhook if caller == KINGUIN_SIGNED else "wrong"
            return {"x-kinguin-signature": hmac_sha512_hex(secret, body)}
        if caller in (IPN_SIGNED, WRONG_IPN_SIGNATURE):
            secret = keys.ipn if caller == IPN_SIGNED else "wrong"
            return {"x-nowpayments-sig": ipn_signature(secret, body)}
        return {}

    links = {
        LINK: link,
        LINK_EXPIRED: keys.links.issue(world.order, now=long_ago),
        LINK_TAMPERED: tampered(link),
        LINK_OTHER: keys.links.issue(world.other),
    }
    return Presenter(headers, links)


def ipn_signature(secret: str, body: bytes) -> str:
    """NOWPayments signs the body re-serialised with sorted keys, compact."""
    canonical = json.dumps(json.loads(body), separators=(",", ":"), sort_keys=True)
    return hmac_sha512_hex(secret, canonical.encode())


def requests(
    stack: Stack, world: World, csrf: str, forms: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Request]:
    """The body (and headers) each row sends: safe arguments for the allowed call; each
    of `forms` (method, path) gets the admin browser's form with its CSRF token."""
    form = Request(
        f"csrf={csrf}&back=/admin/orders".encode(),
        (("content-type", "application/x-www-form-urlencoded"),),
    )
    sent = {
        ("POST", "/orders"): json_request(
            {"email": "checkout@example.com", "lines": [{"sku": "cs-source", "qty": 1}]}
        ),
        ("POST", "/payments/ipn"): Request(
            world.finished_ipn, (("content-type", "application/json"),)
        ),
        # A payout we never made: stored as authentic, applied to nothing.
        ("POST", "/payments/payout-ipn"): json_request(
            {
                "id": "5999999999",
                "batch_withdrawal_id": "5999999998",
                "status": "FINISHED",
                "error": None,
                "currency": "usdttrc20",
                "amount": "1",
                "address": "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
                "fee": None,
                "extra_id": None,
                "hash": "authz",
                "ipn_callback_url": None,
                "created_at": "2026-12-01T10:00:00.000Z",
                "requested_at": None,
                "updated_at": None,
            }
        ),
        ("PUT", "/internal/products/{sku}"): json_request(world.product),
        ("POST", "/kinguin/webhooks"): Request(
            b'{"kinguinId": 1, "productId": "authz", "qty": 0, "textQty": 0,'
            b' "updatedAt": "2026-12-01T10:00:00+00:00"}',
            (("content-type", "application/json"), ("x-event-name", "product.update")),
        ),
        # The viewer's login: the owner's would need a new TOTP code for each caller.
        ("POST", "/admin/login"): json_request({"username": "vera", "password": ROLE_PASSWORD}),
    }
    return dict.fromkeys(forms, form) | sent


def fill(path: str, world: World, link: str | None) -> str:
    return path.format(
        order=world.order,
        unknown=uuid4(),
        missing=999_999_999,
        payment=world.payment,
        ipn=world.ipn,
        reservation=world.reservation,
        webhook=world.webhook,
        sku="cs-source",
        service="payments",
        token=link or "",
    )


def base_url(stack: Stack, service: str) -> str:
    return {
        "payments": stack.payments,
        "kinguin-gateway": stack.kinguin_gateway,
        "fulfillment": stack.fulfillment,
        "delivery": stack.delivery,
        "admin": stack.admin,
    }[service]


def outcome(answer: httpx.Response) -> Outcome:
    if answer.is_redirect:
        return f"{answer.status_code} {answer.headers['location']}"
    return answer.status_code


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


class Internal:
    """The internal API, as the admin service reads it."""

    def __init__(self, http: httpx.AsyncClient, stack: Stack) -> None:
        self.http = http
        self.stack = stack

    async def get(self, service: str, path: str, **params: str) -> object:
        answer = await self.http.get(
            base_url(self.stack, service) + path,
            params=params,
            headers={"authorization": f"Bearer {self.stack.internal_token}"},
        )
        assert answer.status_code == 200, (path, answer.text)
        document: object = answer.json()
        return document

    async def items(
        self, service: str, path: str, key: str = "items", **params: str
    ) -> list[dict[str, Any]]:
        document = await self.get(service, path, **params)
        assert isinstance(document, dict)
        found = document[key]
        assert isinstance(found, list)
        return found


async def snapshot(internal: Internal, world: World) -> dict[str, object]:
    """What the services hold about the orders, the catalog and their parked messages.
    Left out by design: the webhook and IPN logs, which record every call, refused or not."""
    order = str(world.order)
    payment = await internal.get("payments", f"/internal/payments/{world.payment}")
    assert isinstance(payment, dict)
    held: dict[str, object] = {
        "order": await internal.get("payments", f"/internal/orders/{order}"),
        "payment": {name: value for name, value in payment.items() if name != "ipns"},
        "catalog": await internal.get("payments", "/internal/products"),
        "reservation": await internal.get("kinguin-gateway", f"/internal/reservations/{order}"),
        "saga": await internal.items("fulfillment", "/internal/sagas", order_id=order),
        "delivery": await internal.get("delivery", f"/internal/deliveries/{order}"),
        "emails": await internal.items("delivery", f"/internal/orders/{order}/emails", "emails"),
        "key audit": await internal.items("delivery", f"/internal/orders/{order}/audit"),
        "orders": await internal.items("payments", "/internal/orders", limit="100"),
    }
    for service in SERVICES:
        held[f"{service} dead letters"] = await internal.items(
            service, "/internal/dead-letters", include_replayed="true"
        )
    return held


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 60) -> None:
    deadline = datetime.now(UTC) + timedelta(seconds=timeout)
    while not await check():
        assert datetime.now(UTC) < deadline, "the orders were not fulfilled in time"
        await asyncio.sleep(0.3)


async def add_role_accounts(loaded: list[EdgeSettings]) -> None:
    """The viewer and the operator of `ROLE_ACCOUNTS`, in the stack's admin database."""
    (settings,) = [s for s in loaded if isinstance(s, AdminSettings)]
    engine = create_engine(settings.database_url, max_connections=2)
    try:
        for name, role in ROLE_ACCOUNTS.values():
            await CreateAdmin(lambda: AdminUnitOfWork(engine))(
                name, ROLE_PASSWORD, Role.named(role)
            )
    finally:
        await engine.dispose()


def stack_secrets(loaded: list[EdgeSettings]) -> Secrets:
    def one(kind: type[SettingsT]) -> SettingsT:
        found = [settings for settings in loaded if isinstance(settings, kind)]
        assert len(found) == 1, f"the stack loaded {len(found)} {kind.__module__} settings"
        return found[0]

    payments, gateway, delivery = one(PaymentsSettings), one(GatewaySettings), one(DeliverySettings)
    return Secrets(
        ipn=payments.nowpayments_ipn_secret.get_secret_value(),
        webhook=gateway.webhook_secret.get_secret_value(),
        webhook_header=gateway.webhook_secret_header.lower(),
        links=RevealLinks(
            delivery.link_secret.get_secret_value(),
            timedelta(minutes=delivery.link_ttl_minutes),
        ),
    )


async def world_of(http: httpx.AsyncClient, stack: Stack, internal: Internal) -> World:
    """Two orders, placed, paid (the sandbox pays at once) and fulfilled; the ids the
    table's paths name."""
    await catalog.seed_catalog(http, stack)
    order, _ = await place(http, stack, "owner@example.com")
    other, other_token = await place(http, stack, "someone.else@example.com")

    async def settled() -> bool:
        """Both fulfilled, and the order's email sent: nothing moves on its own any more."""
        sagas = [
            await internal.items("fulfillment", "/internal/sagas", order_id=str(o))
            for o in (order, other)
        ]
        path = f"/internal/orders/{order}/emails"
        emails = await internal.items("delivery", path, "emails")
        fulfilled = all(items and items[0]["state"] == "fulfilled" for items in sagas)
        return fulfilled and [email["status"] for email in emails] == ["sent"]

    await eventually(settled)
    # Later orders must stay unpaid: the table's checkouts start no fulfilment.
    paused = await http.post(
        f"{stack.nowpayments_sandbox}/sandbox/config", json={"auto_pay": False}
    )
    assert paused.status_code == 200, paused.text
    (payment,) = await internal.items("payments", "/internal/payments", order_id=str(order))
    detail = await internal.get("payments", f"/internal/payments/{payment['payment_id']}")
    assert isinstance(detail, dict)
    finished = [ipn for ipn in detail["ipns"] if ipn["status"] == "finished"]
    reservation = await internal.get("kinguin-gateway", f"/internal/reservations/{order}")
    assert isinstance(reservation, dict)
    (webhook, *_) = await internal.items("kinguin-gateway", "/internal/webhooks")
    products = await internal.items("payments", "/internal/products")
    (product,) = [p for p in products if p["sku"] == "cs-source"]
    return World(
        order=order,
        other=other,
        other_token=other_token,
        payment=str(payment["payment_id"]),
        ipn=int(finished[0]["id"]),
        reservation=str(reservation["reservation_id"]),
        webhook=int(webhook["id"]),
        product={
            k: v
            for k, v in product.items()
            if k not in ("sku", "updated_at", "kinguin_availability")
        },
        finished_ipn=str(finished[0]["raw_body"]).encode(),
    )


_PARAMETER = re.compile(r"\{[^}]*\}")
_NOWHERE = "127.0.0.1:9"


def shape(path: str) -> str:
    """A path with each parameter reduced to ``{}``: the table names its parameters after
    the values it fills in (``{order}``), the routes after their handlers (``{order_id:uuid}``)."""
    return _PARAMETER.sub("{}", path)


def served_routes() -> set[tuple[str, str, str]]:
    """(service, method, path shape) of every route; HEAD, which Starlette adds to every
    GET, is left out, and a WebSocket route is method ``WS``."""
    machine = wiring.Machine(
        postgres_url=f"postgresql://postgres@{_NOWHERE}/routes",
        amqp_url=f"amqp://guest:guest@{_NOWHERE}/",
        bus_prefix="routes",
        database_prefix="routes_",
        s3_endpoint=f"http://{_NOWHERE}",
        s3_bucket="routes-bucket",
        smtp_host="127.0.0.1",
        smtp_port=9,
        ports=dict.fromkeys((*wiring.SERVICES, *wiring.SANDBOXES), 9),
    )
    found: set[tuple[str, str, str]] = set()
    for process in wiring.processes(machine, wiring.Secrets.generate()):
        if process.name not in wiring.SERVICES:
            continue
        settings_class = importlib.import_module(f"{process.module}.settings").Settings
        prefix = str(settings_class.model_config["env_prefix"])
        values = {name.removeprefix(prefix).lower(): value for name, value in process.env.items()}
        bootstrap = importlib.import_module(f"{process.module}.bootstrap")
        _runtime, app = bootstrap.build(load_settings(settings_class, **values))
        found |= {(process.name, method, path) for method, path in _walk(app.routes, "")}
    return found


def _walk(routes: list[BaseRoute], prefix: str) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for route in routes:
        if isinstance(route, Route):
            methods = (route.methods or set()) - {"HEAD"}
            found |= {(method, shape(prefix + route.path)) for method in methods}
        elif isinstance(route, WebSocketRoute):
            found.add(("WS", shape(prefix + route.path)))
        elif isinstance(route, Mount):
            found |= _walk(route.routes, prefix + route.path)
        else:
            raise AssertionError(f"{route!r} is neither a route nor a mount: add it to _walk")
    return found
