"""Support of the admin tests: stand-ins for the four services' internal APIs served over
real HTTP, and the admin service started against them (its whole lifespan)."""

import asyncio
import base64
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import httpx
import uvicorn
from admin_flags_support import PaymentsFlags
from admin_refunds_support import DeliveryRefunds, PaymentsRefunds
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bitloot_admin.bootstrap import build
from bitloot_admin.settings import Settings
from bitloot_contracts.events import RefundStatusChanged
from bitloot_runtime.idempotency import Endpoint
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.settings import load_settings
from bitloot_runtime.tokens import generate_key_pair
from bitloot_testing.bus import eventually
from bitloot_testing.net import free_port
from bitloot_testing.rabbitmq import BusNamespace
from bitloot_testing.totp import Authenticator

INTERNAL_TOKEN = "admin-test-internal-token"
SESSION_PRIVATE_KEY, SESSION_PUBLIC_KEY = generate_key_pair()
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
ALICE = {"username": "alice", "password": "correct-horse-battery"}
# alice is an owner: her authenticator app, with a new secret for each test's admin.
ALICE_APP = Authenticator()
SERVICE_PATHS = {
    "payments": "/payments",
    "kinguin-gateway": "/kinguin-gateway",
    "fulfillment": "/fulfillment",
    "delivery": "/delivery",
}


def cursor_of(order: dict[str, Any]) -> str:
    """Payments' cursor of `order`: its creation time and id, base64url."""
    raw = f"{order['created_at']}|{order['order_id']}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def refund_changed(order_id: UUID, status: str, **extra: Any) -> RefundStatusChanged:
    """The event of a refund of `order_id` moving to `status` (refund #7 unless `extra`
    says otherwise, of keys never revealed)."""
    values: dict[str, Any] = {
        "refund_id": 7,
        "reason": "keys_unrevealed",
        "amount": Decimal("12.5"),
        "currency": "usdttrc20",
        "customer_email": "a@example.com",
    }
    return RefundStatusChanged(order_id=order_id, status=status, **{**values, **extra})


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


class _RequireToken:
    """The services' internal API refuses calls without the internal token (the runtime's
    own middleware guards ``/internal/`` at the root; the stand-ins sit under a prefix)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if Request(scope).headers.get("authorization") != f"Bearer {INTERNAL_TOKEN}":
            await JSONResponse({"error": "unauthorized"}, status_code=401)(scope, receive, send)
            return
        await self.app(scope, receive, send)


@dataclass
class StandIns:
    """What the stand-in services hold and what they were asked."""

    base_url: str
    orders: list[dict[str, Any]] = field(default_factory=list)
    sagas: list[dict[str, Any]] = field(default_factory=list)
    timelines: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    queries: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)
    slow: set[str] = field(default_factory=set)
    # (service, internal path) -> the items that listing answers
    listings: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    dead_letters: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Every POST: (service, path, X-Bitloot-Actor); `refusals` maps a path to (status, body).
    posts: list[tuple[str, str, str | None]] = field(default_factory=list)
    refusals: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    # The Idempotency-Key of every POST, None for none, in the order of `posts`.
    keys: list[str | None] = field(default_factory=list)
    # The JSON body of every POST, None for none, in the order of `posts`.
    bodies: list[Any] = field(default_factory=list)
    # Payments' flags, refunds and single IPNs, answered as payments does.
    payments: PaymentsFlags = field(default_factory=PaymentsFlags)
    # The gateway's `GET /internal/balance` answer; None: it answers 503.
    balance: dict[str, Any] | None = None
    # Each service's `GET /internal/stats` answer (for the home page); none: 503.
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Payments' refund API (over the flags stand-in's refunds) and delivery's revoke and
    # notice-resend API.
    refunds: PaymentsRefunds = field(init=False)
    delivery: DeliveryRefunds = field(default_factory=DeliveryRefunds)

    def __post_init__(self) -> None:
        self.refunds = PaymentsRefunds(self.payments.refunds)

    def url(self, service: str) -> str:
        return self.base_url + SERVICE_PATHS[service]

    def add_order(self, email: str, minutes: float, **extra: Any) -> UUID:
        order_id = uuid4()
        order = {
            "order_id": str(order_id),
            "email": email,
            "status": "paid",
            "total": "12.50",
            "currency": "usdttrc20",
            "created_at": at(minutes),
            "payment_status": "finished",
            "invoice_url": "https://nowpayments.example/i/1",
        }
        self.orders.insert(0, {**order, **extra})
        return order_id

    def add_saga(self, order_id: UUID, state: str, **extra: Any) -> UUID:
        """Fulfillment's saga of `order_id`, in `state`."""
        self.sagas.append({"order_id": str(order_id), "state": state, **extra})
        return order_id

    def app(self) -> Starlette:
        return Starlette(
            routes=[Mount(path, app=self._service(name)) for name, path in SERVICE_PATHS.items()],
            middleware=[Middleware(_RequireToken)],
        )

    def _service(self, name: str) -> Starlette:
        async def timeline(request: Request) -> Response:
            if name in self.failing:
                return JSONResponse({"error": "boom"}, status_code=503)
            if name in self.slow:
                await asyncio.sleep(3)
            order_id = request.path_params["order_id"]
            items = self.timelines.get(name, {}).get(order_id, [])
            return JSONResponse({"order_id": order_id, "items": items})

        routes = [
            Route("/internal/stats", self._stats(name)),
            Route("/internal/orders/{order_id}/timeline", timeline),
            Route("/internal/dead-letters", self._letters(name)),
            Route("/internal/{rest:path}", self._post(name), methods=["POST"]),
            Route("/internal/{rest:path}", self._listing(name)),
            Route("/readyz", self._ready(name)),
            Route("/metrics", self._metrics(name)),
        ]
        if name == "payments":
            routes[0:0] = [
                Route("/internal/orders", self._orders),
                Route("/internal/orders/{order_id}", self._order),
                *(
                    Route(path, self._answered(name, endpoint), methods=[method])
                    for method, path, endpoint in (*self.payments.routes(), *self.refunds.routes())
                ),
            ]
        if name == "delivery":
            routes[0:0] = [
                Route(path, self._answered(name, endpoint), methods=[method])
                for method, path, endpoint in self.delivery.routes()
            ]
        if name == "fulfillment":
            routes.insert(0, Route("/internal/sagas", self._sagas))
        if name == "kinguin-gateway":
            routes.insert(0, Route("/internal/balance", self._balance))
        return Starlette(routes=routes)

    def _listing(self, name: str) -> Endpoint:
        async def listing(request: Request) -> Response:
            path = request.url.path.removeprefix(SERVICE_PATHS[name])
            if name in self.failing or (name, path) not in self.listings:
                return JSONResponse({"error": "boom"}, status_code=503)
            self.queries.append((name, list(request.query_params.multi_items())))
            items = self.listings[(name, path)]
            limit = int(request.query_params.get("limit", "50"))
            # The services' cursors are opaque to the admin: a position stands in for one.
            offset = int(request.query_params.get("cursor", "0"))
            page = items[offset : offset + limit]
            more = offset + limit if len(items) > offset + limit else None
            return JSONResponse({"items": page, "next": more})

        return listing

    def _stats(self, name: str) -> Endpoint:
        async def stats(request: Request) -> Response:
            self.queries.append((name, list(request.query_params.multi_items())))
            if name in self.failing or name not in self.stats:
                return JSONResponse({"error": "boom"}, status_code=503)
            return JSONResponse(self.stats[name])

        return stats

    def _letters(self, name: str) -> Endpoint:
        async def letters(request: Request) -> Response:
            if name in self.failing:
                return JSONResponse({"error": "boom"}, status_code=503)
            return JSONResponse({"items": self.dead_letters.get(name, [])})

        return letters

    def _answered(self, name: str, endpoint: Endpoint) -> Endpoint:
        """`endpoint` of service `name`, 503 while it is failing; its POSTs recorded."""

        async def answered(request: Request) -> Response:
            if request.method == "POST":
                await self._record(name, request)
            if name in self.failing:
                return JSONResponse({"error": "boom"}, status_code=503)
            return await endpoint(request)

        return answered

    async def _record(self, name: str, request: Request) -> None:
        path = request.url.path.removeprefix(SERVICE_PATHS[name])
        if request.url.query:
            path += f"?{request.url.query}"
        self.posts.append((name, path, request.headers.get("x-bitloot-actor")))
        self.keys.append(request.headers.get("idempotency-key"))
        raw = await request.body()
        self.bodies.append(json.loads(raw) if raw else None)

    def _post(self, name: str) -> Endpoint:
        async def post(request: Request) -> Response:
            path = request.url.path.removeprefix(SERVICE_PATHS[name])
            await self._record(name, request)
            if name in self.failing:
                return JSONResponse({"error": "boom"}, status_code=503)
            status, body = self.refusals.get(path, (200, {"done": path}))
            return JSONResponse(body, status_code=status)

        return post

    def _ready(self, name: str) -> Endpoint:
        async def ready(_request: Request) -> Response:
            if name in self.failing:
                body = {"status": "not_ready", "checks": {"database": "timeout"}}
                return JSONResponse(body, status_code=503)
            return JSONResponse({"status": "ready", "checks": {"database": "ok"}})

        return ready

    def _metrics(self, name: str) -> Endpoint:
        async def metrics(_request: Request) -> Response:
            text = (
                f'bitloot_outbox_pending{{service="{name}"}} 3.0\n'
                f'bitloot_outbox_lag_seconds{{service="{name}"}} 1.5\n'
                f'bitloot_dead_letters{{service="{name}"}} 2.0\n'
            )
            return Response(text, media_type="text/plain")

        return metrics

    async def _orders(self, request: Request) -> Response:
        self.queries.append(("payments", list(request.query_params.multi_items())))
        query = request.query_params
        email = query.get("email")
        items = [o for o in self.orders if email is None or o["email"] == email]
        # Like payments: `cursor` names the last order seen, `before` is a time.
        if "cursor" in query:
            last = base64.urlsafe_b64decode(query["cursor"] + "==").decode().split("|")[0]
            items = [o for o in items if o["created_at"] < last]
        elif "before" in query:
            before = datetime.fromisoformat(query["before"])
            items = [o for o in items if datetime.fromisoformat(o["created_at"]) < before]
        limit = int(query.get("limit", "50"))
        page = items[:limit]
        last_order = page[-1] if len(page) == limit else None
        cursor = cursor_of(last_order) if last_order else None
        return JSONResponse({"items": page, "next": None, "cursor": cursor})

    async def _order(self, request: Request) -> Response:
        for order in self.orders:
            if order["order_id"] == request.path_params["order_id"]:
                refunds = self.refunds.of_order(order["order_id"])
                lines = [{"sku": "g-1", "qty": 1, "title": "Game g-1"}]
                return JSONResponse({**order, "lines": lines, "refunds": refunds})
        return JSONResponse({"error": "order_not_found", "detail": "no"}, status_code=404)

    async def _balance(self, _request: Request) -> Response:
        if "kinguin-gateway" in self.failing or self.balance is None:
            return JSONResponse({"error": "boom"}, status_code=503)
        return JSONResponse(self.balance)

    async def _sagas(self, request: Request) -> Response:
        if "fulfillment" in self.failing:
            return JSONResponse({"error": "boom"}, status_code=500)
        self.queries.append(("fulfillment", list(request.query_params.multi_items())))
        wanted = set(request.query_params.getlist("order_id"))
        return JSONResponse({"items": [s for s in self.sagas if s["order_id"] in wanted]})


@asynccontextmanager
async def serve_stand_ins() -> AsyncIterator[StandIns]:
    """The four services' internal APIs, on one uvicorn server on a free port."""
    port = free_port()
    services = StandIns(base_url=f"http://127.0.0.1:{port}")
    config = uvicorn.Config(
        services.app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await eventually(_started(server), timeout=10)
    try:
        yield services
    finally:
        server.should_exit = True
        await task


def _started(server: uvicorn.Server) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return server.started

    return check


def settings_for(
    database_url: str, bus: BusNamespace, stand_ins: StandIns, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "amqp_url": bus.amqp_url,
        "bus_prefix": bus.prefix,
        "retry_delays": (0.2, 0.5),
        "internal_token": INTERNAL_TOKEN,
        "session_private_key": SESSION_PRIVATE_KEY,
        "payments_url": stand_ins.url("payments"),
        "kinguin_gateway_url": stand_ins.url("kinguin-gateway"),
        "fulfillment_url": stand_ins.url("fulfillment"),
        "delivery_url": stand_ins.url("delivery"),
        "upstream_timeout": 1.0,
    }
    return load_settings(Settings, **{**values, **overrides})


def alice_settings(
    database_url: str, bus: BusNamespace, stand_ins: StandIns, **overrides: Any
) -> Settings:
    """Settings whose initial (and only) admin is alice, an owner with her second factor."""
    initial = {
        "initial_username": ALICE["username"],
        "initial_password": ALICE["password"],
        "initial_totp_secret": ALICE_APP.renew(),
    }
    return settings_for(database_url, bus, stand_ins, **initial, **overrides)


@dataclass
class RunningAdmin:
    runtime: ServiceRuntime
    app: Starlette
    settings: Settings

    def client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app)
        return httpx.AsyncClient(transport=transport, base_url="http://test")


@asynccontextmanager
async def running_admin(settings: Settings, bus: BusNamespace) -> AsyncIterator[RunningAdmin]:
    """The admin service through its app's lifespan (runtime, initial admin, client)."""
    runtime, app = build(settings)
    bus.track_services(["admin"], settings.retry_delays)
    async with app.router.lifespan_context(app):
        yield RunningAdmin(runtime, app, settings)


async def bearer_login(client: httpx.AsyncClient) -> None:
    """Log `client` in as alice through the JSON login; it then sends the Bearer token."""
    answer = await client.post("/admin/login", json={**ALICE, "totp": ALICE_APP.code()})
    assert answer.status_code == 200, answer.text
    client.headers["Authorization"] = f"Bearer {answer.json()['token']}"


async def audit_of(client: httpx.AsyncClient, action: str | None = None) -> list[dict[str, Any]]:
    """The audit as the API lists it, newest first (only `action`'s, if given)."""
    answer = await client.get("/admin/api/audit", params={"action": action} if action else {})
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


def csrf_of(page: httpx.Response) -> str:
    """The CSRF token of a page's forms."""
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


async def order_form(browser: httpx.AsyncClient, order_id: UUID, action: str) -> httpx.Response:
    """The order page's form `action` sent as a browser does: the page's CSRF token, and
    the order page to go back to."""
    back = f"/admin/orders/{order_id}"
    page = await browser.get(back)
    return await browser.post(f"{back}/{action}", data={"csrf": csrf_of(page), "back": back})


def block_text(page: httpx.Response, pattern: str) -> str:
    """The text of the block of `page` that `pattern` finds, tags and blanks squeezed out."""
    match = re.search(pattern, page.text, re.DOTALL)
    assert match, page.text
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(0)).split())


def forms_of(page: httpx.Response) -> dict[str, str]:
    """Each form's action and its whole opening tag, but the header's log out."""
    found = re.finditer(r'<form method="post" action="([^"]+)"[^>]*>', page.text)
    return {m.group(1): m.group(0) for m in found if m.group(1) != "/admin/logout"}


async def password_form(
    client: httpx.AsyncClient, username: str = "alice", password: str = ALICE["password"]
) -> httpx.Response:
    """The login form's first step, the password, sent as a browser does."""
    page = await client.get("/admin/login")
    form = {"username": username, "password": password, "csrf": csrf_of(page)}
    return await client.post("/admin/login", data=form)


async def login_form(
    client: httpx.AsyncClient, password: str = ALICE["password"]
) -> httpx.Response:
    """alice's login through the login form, then (when the password was right) the code
    form, as a browser does."""
    answer = await password_form(client, password=password)
    challenge = re.search(r'name="challenge" value="([^"]+)"', answer.text)
    if answer.status_code != 200 or challenge is None:
        return answer
    code = {"challenge": challenge.group(1), "code": ALICE_APP.code(), "csrf": csrf_of(answer)}
    return await client.post("/admin/login/totp", data=code)


async def log_in(client: httpx.AsyncClient) -> None:
    """Log alice in through the login form and its code form (session cookie): the
    password alone must have asked for the code."""
    answer = await login_form(client)
    assert (answer.request.url.path, answer.status_code) == ("/admin/login/totp", 303), answer.text


# The gateway's /internal/balance answer for a balance under its threshold.
LOW_BALANCE: dict[str, Any] = {
    "balance_eur": "90.01",
    "low": True,
    "threshold_eur": "100",
    "read_at": "2026-12-05T07:00:00+00:00",
    "stale": False,
    "error": None,
    "detail": None,
    "failed_at": None,
    "poll_seconds": 300.0,
}
