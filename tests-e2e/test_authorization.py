"""Who may call what: every route of the five services against every kind of caller, as
one table, on the services running for real; and a check that the table names every
route the services serve, so that no endpoint is added without deciding who may call it.

Every row is (service, method, path, {caller: outcome}). The outcome is the status, or
for a redirect the status and where it leads (an admin page sends a stranger to the
login). Paths name the values filled in: `{order}` is the order under test (paid and
fulfilled), `{unknown}` an order no service knows, `{missing}` an id nothing has,
`{token}` the caller's reveal link, `{ipn}` the order's finished IPN. Destructive actions
are called with arguments that make the allowed call a no-op (a retry of a fulfilled
order: 409; a replay of a dead letter that does not exist: 404), and after the table has
run every service holds what it held before, but for what the allowed calls that act
do: the customer's link calls, the checkouts, the reveal
(`unchanged_but_for_the_allowed_calls`).
"""

import secrets
from typing import Any

import httpx
import pytest
from authz_support import (
    ADMIN,
    ADMIN_EXPIRED,
    BROWSER,
    CALLERS,
    COMMON,
    EXPIRED,
    FORGED,
    INTERNAL,
    IPN_SIGNED,
    KINGUIN_SECRET,
    KINGUIN_SIGNED,
    LINK,
    LINK_EXPIRED,
    LINK_OTHER,
    LINK_TAMPERED,
    LINKS,
    NO_CSRF,
    NOBODY,
    OPERATOR,
    OTHER,
    OWN,
    ROLE_CALLERS,
    SERVICES,
    VIEWER,
    WRONG_IPN_SIGNATURE,
    WRONG_SECRET,
    WRONG_SIGNATURE,
    Internal,
    Outcome,
    Request,
    add_role_accounts,
    base_url,
    fill,
    outcome,
    presenter,
    requests,
    served_routes,
    shape,
    snapshot,
    socket_outcome,
    stack_secrets,
    world_of,
)

import bitloot_launch.inprocess
from bitloot_admin.domain.roles import Role
from bitloot_launch.inprocess import Stack
from bitloot_runtime.settings import EdgeSettings, load_settings

TO_LOGIN, TO_HOME = "303 /admin/login", "303 /admin/"
OWNER = Role.OWNER


def public(outcome: Outcome) -> dict[str, Outcome]:
    return dict.fromkeys(COMMON, outcome)


def internal(outcome: Outcome) -> dict[str, Outcome]:
    return public(401) | {INTERNAL: outcome}


def order_token(outcome: Outcome) -> dict[str, Outcome]:
    return public(401) | {OTHER: 403, OWN: outcome}


# The role each admin caller holds: the stack's first admin (bearer and browser) is an owner.
ROLES = {VIEWER: Role.VIEWER, OPERATOR: Role.OPERATOR}


def admin_api(
    outcome: Outcome, *, action: bool = False, role: Role = Role.VIEWER
) -> dict[str, Outcome]:
    """A browser's session must also prove it is not another site's forged request; a
    role below `role` is refused (403 ``forbidden_role``)."""
    owner = {ADMIN: outcome, BROWSER: outcome, NO_CSRF: 403 if action else outcome}
    roles = {caller: outcome if held.may(role) else 403 for caller, held in ROLES.items()}
    return public(401) | owner | roles


def admin_page(
    outcome: Outcome, *, form: bool = False, role: Role = Role.VIEWER
) -> dict[str, Outcome]:
    """A stranger is sent to the login; a form needs the session cookie's CSRF token,
    which a bearer client does not hold; a role below `role` gets a 403 page."""
    allowed = {ADMIN: 403 if form else outcome, BROWSER: outcome, NO_CSRF: 403 if form else outcome}
    roles = {
        caller: outcome if held.may(role) and not form else 403 for caller, held in ROLES.items()
    }
    return public(TO_LOGIN) | allowed | roles


def is_form(method: str, path: str) -> bool:
    """An admin page's form (the browser posts it with its CSRF token), not the API."""
    return method == "POST" and path.startswith("/admin/") and not path.startswith("/admin/api/")


HEALTH = ("/healthz", "/readyz", "/metrics")
# What an admin may look at, each as a page and through the JSON API.
ADMIN_VIEWS = (
    "/orders",
    "/orders/{order}",
    "/orders/{order}/key-audit",
    "/orders/{order}/emails",
    "/payments",
    "/payments/{payment}",
    "/ipns",
    "/ipns/{ipn}",
    "/flags",
    "/refunds",
    "/reservations",
    "/webhooks",
    "/webhooks/{webhook}",
    "/sagas",
    "/dead-letters",
    "/health",
    "/audit",
)

Row = tuple[str, str, str, dict[str, Outcome]]
# Public by design: liveness, readiness and the Prometheus metrics (counters, no order
# data) of every service, scraped by the platform without credentials; and the internal
# dead letters, which only the internal token opens (an id nobody parked: 404).
EVERY_SERVICE: tuple[Row, ...] = tuple(
    row
    for service in SERVICES
    for row in (
        *((service, "GET", path, public(200)) for path in HEALTH),
        (service, "GET", "/internal/dead-letters", internal(200)),
        (service, "POST", "/internal/dead-letters/{missing}/replay", internal(404)),
    )
)
TABLE: tuple[Row, ...] = (
    *EVERY_SERVICE,
    # payments: checkout is public, an order is its token holder's, the IPN NOWPayments'
    # (a replay of its finished IPN, already applied: 200 and nothing changes).
    ("payments", "POST", "/orders", public(201)),
    ("payments", "GET", "/orders/{order}", order_token(200)),
    # The order page's script: the same for everyone, no order in it.
    ("payments", "GET", "/orders/live.js", public(200)),
    (
        "payments",
        "POST",
        "/payments/ipn",
        public(401) | {IPN_SIGNED: 200, WRONG_IPN_SIGNATURE: 401},
    ),
    ("payments", "GET", "/internal/orders", internal(200)),
    ("payments", "GET", "/internal/orders/{order}", internal(200)),
    ("payments", "GET", "/internal/orders/{order}/timeline", internal(200)),
    ("payments", "GET", "/internal/payments", internal(200)),
    ("payments", "GET", "/internal/payments/{payment}", internal(200)),
    ("payments", "GET", "/internal/ipns", internal(200)),
    ("payments", "GET", "/internal/ipns/{missing}", internal(404)),
    ("payments", "POST", "/internal/ipns/{missing}/replay", internal(404)),
    ("payments", "GET", "/internal/flags", internal(200)),
    # The home page's figures need `since`: without it, 422 (once past the token).
    ("payments", "GET", "/internal/stats", internal(422)),
    ("payments", "GET", "/internal/flags/{missing}", internal(404)),
    ("payments", "POST", "/internal/flags/{missing}/accept", internal(404)),
    ("payments", "POST", "/internal/flags/{missing}/refund-due", internal(404)),
    # A dismissal without a note is refused before anything is looked up.
    ("payments", "POST", "/internal/flags/{missing}/dismiss", internal(422)),
    ("payments", "GET", "/internal/refunds", internal(200)),
    ("payments", "GET", "/internal/refunds/{missing}", internal(404)),
    ("payments", "POST", "/internal/refunds/{missing}/approve", internal(404)),
    ("payments", "POST", "/internal/refunds/{missing}/reject", internal(404)),
    ("payments", "POST", "/internal/refunds/{missing}/refunded-outside", internal(404)),
    # The refund claim page is the claim link's holder's: without its token, nobody's.
    ("payments", "GET", "/refunds/claim", public(401)),
    ("payments", "POST", "/refunds/claim", public(401)),
    ("payments", "POST", "/refunds/claim/new-link", public(401)),
    # NOWPayments' payout IPN, signed like a payment IPN (one about a payout we never
    # made: stored, applied to nothing).
    (
        "payments",
        "POST",
        "/payments/payout-ipn",
        public(401) | {IPN_SIGNED: 200, WRONG_IPN_SIGNATURE: 401},
    ),
    ("payments", "GET", "/internal/products", internal(200)),
    ("payments", "PUT", "/internal/products/{sku}", internal(200)),  # the same product again
    # kinguin-gateway: the webhook is Kinguin's (secret header or body signature; a
    # product.update, logged and not acted on: 204); the rest internal.
    (
        "kinguin-gateway",
        "POST",
        "/kinguin/webhooks",
        public(401)
        | {KINGUIN_SECRET: 204, WRONG_SECRET: 401, KINGUIN_SIGNED: 204, WRONG_SIGNATURE: 401},
    ),
    ("kinguin-gateway", "GET", "/internal/reservations", internal(200)),
    ("kinguin-gateway", "GET", "/internal/reservations/{order}", internal(200)),
    ("kinguin-gateway", "GET", "/internal/balance", internal(200)),
    ("kinguin-gateway", "GET", "/internal/orders/{order}/timeline", internal(200)),
    ("kinguin-gateway", "GET", "/internal/kinguin/status/{reservation}", internal(200)),
    ("kinguin-gateway", "GET", "/internal/webhooks", internal(200)),
    ("kinguin-gateway", "GET", "/internal/webhooks/{webhook}", internal(200)),
    ("kinguin-gateway", "POST", "/internal/webhooks/{missing}/replay", internal(404)),
    # fulfillment (its live-status socket: WEBSOCKET below)
    ("fulfillment", "GET", "/internal/sagas", internal(200)),
    ("fulfillment", "GET", "/internal/stats", internal(422)),
    ("fulfillment", "GET", "/internal/orders/{order}/timeline", internal(200)),
    ("fulfillment", "POST", "/internal/orders/{order}/retry", internal(409)),
    # Names no admin (X-Bitloot-Actor) and sends no sealed keys: refused before anything.
    ("fulfillment", "POST", "/internal/orders/{order}/deliver-by-hand", internal(422)),
    # delivery: the reveal page opens for the link alone (it names its order); asking a
    # fresh link by email answers the same to every token, so that it reveals nothing.
    (
        "delivery",
        "GET",
        "/keys/{token}",
        {LINK: 200, LINK_EXPIRED: 410, LINK_TAMPERED: 401, LINK_OTHER: 200},
    ),
    ("delivery", "POST", "/keys/{token}/fresh-link", dict.fromkeys(LINKS, 202)),
    # The reveal page's copy script: the same for everyone, no key or order in it.
    ("delivery", "GET", "/keys/-/copy.js", public(200)),
    ("delivery", "POST", "/orders/{order}/link", order_token(201)),
    ("delivery", "GET", "/internal/deliveries/{order}", internal(200)),
    ("delivery", "GET", "/internal/orders/{order}/timeline", internal(200)),
    ("delivery", "GET", "/internal/orders/{order}/audit", internal(200)),
    ("delivery", "GET", "/internal/orders/{order}/emails", internal(200)),
    ("delivery", "POST", "/internal/orders/{unknown}/emails", internal(404)),
    ("delivery", "POST", "/internal/orders/{unknown}/link", internal(404)),
    ("delivery", "GET", "/internal/orders/{unknown}/object-url", internal(404)),
    # Revoking keys and resending a notice take a JSON body naming the admin: none, 415.
    ("delivery", "POST", "/internal/orders/{unknown}/revoke", internal(415)),
    ("delivery", "POST", "/internal/orders/{unknown}/notices/resend", internal(415)),
    # admin: /admin is a redirect (to the home page) for anyone; the login and the API
    # description public;
    # pages and forms need a session (a form also its CSRF token); the API answers 401.
    ("admin", "GET", "/admin", public(TO_HOME)),
    ("admin", "GET", "/admin/", admin_page(200)),
    ("admin", "GET", "/admin/login", public(200)),
    ("admin", "POST", "/admin/login", public(200)),
    # A bearer client logs out without a CSRF token (another site cannot send its header).
    (
        "admin",
        "POST",
        "/admin/logout",
        admin_page(TO_LOGIN, form=True) | dict.fromkeys((ADMIN, VIEWER, OPERATOR), TO_LOGIN),
    ),
    # The code step of a login: the browser's form holds no challenge (401, its login
    # page); without the CSRF cookie, 403.
    ("admin", "POST", "/admin/login/totp", public(403) | {BROWSER: 401}),
    # Each admin's own account and second factor. The owner's is enrolled already: the
    # form's confirmation is refused (422 page); the API's, sent no JSON, is 415.
    ("admin", "GET", "/admin/account/totp", admin_page(200)),
    ("admin", "POST", "/admin/account/totp", admin_page(422, form=True)),
    ("admin", "GET", "/admin/api/account", admin_api(200)),
    ("admin", "GET", "/admin/api/account/totp", admin_api(200)),
    ("admin", "POST", "/admin/api/account/totp/confirm", admin_api(415, action=True)),
    ("admin", "GET", "/admin/openapi.json", public(200)),
    *(("admin", "GET", f"/admin{path}", admin_page(200)) for path in ADMIN_VIEWS),
    *(("admin", "GET", f"/admin/api{path}", admin_api(200)) for path in ADMIN_VIEWS),
    # Keys by hand (owners): the form's page; a form and a request with no keys are refused.
    ("admin", "GET", "/admin/orders/{order}/deliver-keys", admin_page(200, role=OWNER)),
    (
        "admin",
        "POST",
        "/admin/orders/{order}/deliver-keys",
        admin_page(422, form=True, role=OWNER),
    ),
    (
        "admin",
        "POST",
        "/admin/api/orders/{order}/deliver-keys",
        admin_api(415, action=True, role=OWNER),
    ),
    # The world has no payment flag: its page and document are payments' 404.
    ("admin", "GET", "/admin/flags/{missing}", admin_page(404)),
    ("admin", "GET", "/admin/api/flags/{missing}", admin_api(404)),
    ("admin", "GET", "/admin/refunds/{missing}", admin_page(404)),
    ("admin", "GET", "/admin/api/refunds/{missing}", admin_api(404)),
    # Refused by the admin before anything is sent: no note to reject, to record a refund
    # as paid outside or to refund an unrevealed order; no notice named to resend.
    *(
        row
        for path, role in (
            ("/refunds/{missing}/reject", OWNER),
            ("/refunds/{missing}/refunded-outside", OWNER),
            ("/orders/{unknown}/refund-unrevealed", OWNER),
            ("/orders/{unknown}/notices/resend", Role.OPERATOR),
        )
        for row in (
            ("admin", "POST", f"/admin{path}", admin_page(422, form=True, role=role)),
            ("admin", "POST", f"/admin/api{path}", admin_api(422, action=True, role=role)),
        )
    ),
    # The repairs, each refused by the service it reaches: the form's page says so (502).
    *(
        row
        for path, refused, role in (
            ("/dead-letters/{service}/{missing}/replay", 404, Role.OPERATOR),
            ("/webhooks/{missing}/replay", 404, Role.OPERATOR),
            ("/orders/{order}/retry", 409, Role.OPERATOR),
            ("/orders/{unknown}/resend-email", 404, Role.OPERATOR),
            ("/orders/{unknown}/link", 404, Role.OPERATOR),
            ("/orders/{unknown}/object-url", 404, Role.OPERATOR),
            ("/ipns/{missing}/replay", 404, Role.OPERATOR),
            ("/flags/{missing}/accept", 404, Role.OPERATOR),
            ("/flags/{missing}/refund-due", 404, Role.OPERATOR),
            ("/refunds/{missing}/approve", 404, OWNER),
            # Payments wants a note to dismiss before it looks the flag up.
            ("/flags/{missing}/dismiss", 422, Role.OPERATOR),
        )
        for row in (
            ("admin", "POST", f"/admin{path}", admin_page(502, form=True, role=role)),
            ("admin", "POST", f"/admin/api{path}", admin_api(refused, action=True, role=role)),
        )
    ),
)
# The live-status socket (`?token=`) accepts the order's own token and an admin session.
WEBSOCKET: dict[str, int | None] = {
    NOBODY: 4401,
    OTHER: 4403,
    OWN: None,
    EXPIRED: 4401,
    FORGED: 4401,
    ADMIN: None,
    ADMIN_EXPIRED: 4401,
    INTERNAL: 4401,
    # Fulfillment checks an admin token's signature alone, whatever the admin's role.
    VIEWER: None,
    OPERATOR: None,
}


@pytest.fixture
def stack_settings(monkeypatch: pytest.MonkeyPatch) -> list[EdgeSettings]:
    """The settings `running_stack` loads, as it loads them: `Stack` does not carry the
    provider secrets and the link secret that the IPN, webhook and link callers need.
    Requested before `stack`, so that it sees the stack being built."""
    loaded: list[EdgeSettings] = []

    def recording(settings_class: type[EdgeSettings], **values: object) -> EdgeSettings:
        settings = load_settings(settings_class, **values)
        loaded.append(settings)
        return settings

    monkeypatch.setattr(bitloot_launch.inprocess, "load_settings", recording)
    return loaded


@pytest.mark.slow
async def test_every_endpoint_answers_each_kind_of_caller_as_the_table_says(
    stack_settings: list[EdgeSettings], stack: Stack
) -> None:
    keys = stack_secrets(stack_settings)
    await add_role_accounts(stack_settings)
    csrf = secrets.token_urlsafe(32)
    async with httpx.AsyncClient(timeout=30) as http:
        internal = Internal(http, stack)
        world = await world_of(http, stack, internal)
        present = presenter(stack, world, keys, csrf)
        forms = [(method, path) for _, method, path, _ in TABLE if is_form(method, path)]
        sent = requests(stack, world, csrf, forms)
        before = await snapshot(internal, world)
        found: dict[tuple[str, str], Outcome | None] = {}
        wanted: dict[tuple[str, str], Outcome | None] = {}
        for service, method, path, expected in (*TABLE, *descriptions(served_routes())):
            request = sent.get((method, path), Request())
            for caller, status in expected.items():
                url = base_url(stack, service) + fill(path, world, present.links.get(caller))
                headers = dict(request.headers) | present.headers(caller, request.content)
                # Each caller presents its own credentials only, none a page set before.
                http.cookies.clear()
                answer = await http.request(method, url, content=request.content, headers=headers)
                wanted[(f"{service} {method} {path}", caller)] = status
                found[(f"{service} {method} {path}", caller)] = outcome(answer)
        for caller, code in WEBSOCKET.items():
            key = ("fulfillment WS /ws/orders/{order}", caller)
            token = present.headers(caller, b"").get("authorization", "").removeprefix("Bearer ")
            wanted[key] = code
            found[key] = await socket_outcome(stack, world.order, token or None)
        differences = [
            f"{row} as {caller}: expected {wanted[row, caller]}, got {found[row, caller]}"
            for row, caller in wanted
            if wanted[row, caller] != found[row, caller]
        ]
        assert differences == [], "\n".join(differences)

        after = await snapshot(internal, world)
        assert unchanged_but_for_the_allowed_calls(before, after) == {}


def added(before: dict[str, object], after: dict[str, object], name: str) -> list[Any]:
    """The entries of list `name` that are new; the others must be as they were."""
    old, new = before.pop(name), after.pop(name)
    assert isinstance(old, list)
    assert isinstance(new, list)
    assert [entry for entry in new if entry in old] == old, name
    return [entry for entry in new if entry not in old]


def unchanged_but_for_the_allowed_calls(
    before: dict[str, object], after: dict[str, object]
) -> dict[str, tuple[object, object]]:
    """Checks what the allowed calls that act did; what else differs, by name."""
    audit = [(entry["action"], entry["actor"]) for entry in added(before, after, "key audit")]
    assert audit == [
        ("revealed", "customer"),  # GET /keys/{token}, the valid link
        ("fresh_link_emailed", "customer"),  # POST /keys/{token}/fresh-link, the valid link
        ("fresh_link_emailed", "customer"),  # the expired link (it still names its order)
        ("link_issued", "customer"),  # POST /orders/{order}/link, the own token
    ]
    assert [email["kind"] for email in added(before, after, "emails")] == ["fresh_link"] * 2
    checkouts = added(before, after, "orders")  # POST /orders, by each caller
    assert [order["email"] for order in checkouts] == ["checkout@example.com"] * len(COMMON)
    viewed, unseen = after.pop("delivery"), before.pop("delivery")
    assert isinstance(viewed, dict)
    assert isinstance(unseen, dict)
    assert viewed == unseen | {"viewed_at": viewed["viewed_at"], "reveal_count": 1}
    # PUT /internal/products/{sku} saved the product as it was: only its time moved. What
    # Kinguin says of its stock is the gateway's catalog sync's reading, not any caller's
    # doing: the sync reads a newly listed product within seconds, so during the test.
    for held in (before, after):
        catalog = held["catalog"]
        assert isinstance(catalog, dict)
        held["catalog"] = [
            product | {"updated_at": None, "kinguin_availability": None}
            for product in catalog["items"]
        ]
    return {name: (before[name], after[name]) for name in before if before[name] != after[name]}


def in_table(rows: tuple[Row, ...]) -> set[tuple[str, str, str]]:
    named = {(service, method, shape(path)) for service, method, path, _ in rows}
    return named | {("fulfillment", "WS", shape("/ws/orders/{order}"))}


def descriptions(routes: set[tuple[str, str, str]]) -> tuple[Row, ...]:
    """A public row for each API description (``/openapi.json``) the table does not name:
    public by design, wherever a service serves one."""
    return tuple(
        (service, method, path, public(200))
        for service, method, path in sorted(routes - in_table(TABLE))
        if method == "GET" and path.endswith("/openapi.json")
    )


def test_every_route_the_services_serve_is_in_the_table() -> None:
    routes = served_routes()
    named = in_table((*TABLE, *descriptions(routes)))
    missing = sorted(" ".join(route) for route in routes - named)
    assert missing == [], "routes nobody decided who may call: " + ", ".join(missing)
    assert named - routes == set(), "rows for routes no service serves"


def test_each_row_answers_every_kind_of_caller_that_could_call_it() -> None:
    for service, method, path, expected in TABLE:
        callers = set(expected)
        assert callers <= set(CALLERS), (service, method, path)
        if "{token}" in path:
            assert callers == set(LINKS), (service, method, path)
        else:
            assert set(COMMON) <= callers, (service, method, path)
        # A route that needs an admin session says what each role gets.
        if service == "admin" and expected.get(ADMIN) != expected[NOBODY]:
            assert set(ROLE_CALLERS) <= callers, (service, method, path)
    # A socket has no cookies to offer: every caller but the browser's.
    assert set(WEBSOCKET) == set(COMMON) - {BROWSER, NO_CSRF} | set(ROLE_CALLERS)
