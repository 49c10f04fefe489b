"""Roles on every route: one table (`access.ROUTE_ROLES`) names the lowest role of each,
every route of the app is in it, and each role is refused exactly what is above it
(403 ``forbidden_role``, a page saying so), every role by every route."""

import re
from unittest.mock import MagicMock

import httpx
import pytest
from accounts_support import PASSWORD, add_admin, bearer, token_of
from admin_support import RunningAdmin, StandIns, csrf_of, password_form
from starlette.routing import Route

from bitloot_admin.domain.roles import Role
from bitloot_admin.entrypoints import access, web
from bitloot_admin.entrypoints.access import PUBLIC, ROUTE_ROLES, UndecidedRoute

USERS = {Role.VIEWER: "vera", Role.OPERATOR: "otto", Role.OWNER: "alice"}
FILLED = {
    "order_id": "00000000-0000-4000-8000-000000000001",
    "item_id": "1",
    "item_id:int": "1",
    "flag_id": "1",
    "ipn_id": "1",
    "refund_id": "1",
    "service": "payments",
    "letter_id:int": "1",
    "webhook_id:int": "1",
}


def fill(path: str) -> str:
    return "/admin" + re.sub(r"\{([^}]+)\}", lambda m: FILLED[m.group(1)], path)


def test_every_route_of_the_admin_app_has_its_role_in_the_one_table() -> None:
    served = set(access.route_keys(web.admin_routes(MagicMock())))
    assert served == set(ROUTE_ROLES)


def test_a_route_missing_from_the_table_stops_the_app_from_being_built() -> None:
    async def endpoint(_request: object) -> None:
        raise AssertionError

    new = Route("/new-thing", endpoint, methods=["POST"])
    with pytest.raises(UndecidedRoute, match="POST /new-thing"):
        access.guard_routes([*web.admin_routes(MagicMock()), new], MagicMock())


async def sessions(admin: RunningAdmin, client: httpx.AsyncClient) -> dict[Role, str]:
    await add_admin(admin, USERS[Role.VIEWER], Role.VIEWER)
    await add_admin(admin, USERS[Role.OPERATOR], Role.OPERATOR)
    return {role: await token_of(client, name) for role, name in USERS.items()}


def forbidden(answer: httpx.Response) -> bool:
    if answer.headers.get("content-type", "").startswith("application/json"):
        return bool(answer.json().get("error") == "forbidden_role")
    return answer.status_code == 403 and "Your role (" in answer.text


async def test_each_role_is_refused_exactly_the_routes_above_it(
    admin: RunningAdmin, stand_ins: StandIns
) -> None:
    async with admin.client() as client:
        tokens = await sessions(admin, client)
        found, wanted = {}, {}
        # The logout last: it ends the session the other rows use.
        rows = sorted(ROUTE_ROLES.items(), key=lambda row: (row[0] == ("POST", "/logout"), row))
        for (method, path), required in rows:
            if required == PUBLIC:
                continue
            for role, token in tokens.items():
                answer = await client.request(method, fill(path), headers=bearer(token))
                found[(method, path, role.label)] = forbidden(answer)
                wanted[(method, path, role.label)] = not role.may(required)
    differences = [key for key in wanted if wanted[key] != found[key]]
    assert differences == [], differences
    # Nothing a refused role asked reached a service.
    refused = {(m, p) for (m, p, _role), no in wanted.items() if no}
    assert refused
    assert all(actor == "alice" or actor == "otto" for _s, _p, actor in stand_ins.posts)


async def test_a_refused_api_call_says_why_and_a_refused_form_shows_a_page(
    admin: RunningAdmin,
) -> None:
    async with admin.client() as client:
        tokens = await sessions(admin, client)
        api = await client.post(
            "/admin/api/orders/00000000-0000-4000-8000-000000000001/retry",
            headers=bearer(tokens[Role.VIEWER]),
        )
        page = await client.post("/admin/refunds/1/approve", headers=bearer(tokens[Role.OPERATOR]))
    assert api.status_code == 403
    assert api.json()["error"] == "forbidden_role"
    assert page.status_code == 403
    assert "Your role (operator) cannot do this; it needs owner." in page.text


async def test_the_header_shows_the_role_and_pages_hide_what_it_cannot_do(
    admin: RunningAdmin, stand_ins: StandIns
) -> None:
    order = stand_ins.add_order("buyer@example.com", 0)
    stand_ins.add_saga(order, "fulfilled", updated_at="2026-11-01T12:00:00+00:00")
    async with admin.client() as client:
        tokens = await sessions(admin, client)
        pages = {
            role: (await client.get(f"/admin/orders/{order}", headers=bearer(token))).text
            for role, token in tokens.items()
        }
    for role, text in pages.items():
        assert f'<span class="role" title="What your role lets you do">{role.label}</span>' in text
    assert "/resend-email" not in pages[Role.VIEWER]
    assert "/notices/resend" not in pages[Role.VIEWER]
    assert "/resend-email" in pages[Role.OPERATOR]
    assert "deliver-keys-link" not in pages[Role.OPERATOR]
    assert "/refund-unrevealed" not in pages[Role.OPERATOR]
    assert "deliver-keys-link" in pages[Role.OWNER]
    assert "/refund-unrevealed" in pages[Role.OWNER]


async def test_a_viewers_browser_form_is_refused_and_reaches_no_service(
    admin: RunningAdmin, stand_ins: StandIns
) -> None:
    await add_admin(admin, "vera", Role.VIEWER)
    async with admin.client() as client:
        assert (await password_form(client, "vera", PASSWORD)).status_code == 303
        orders = await client.get("/admin/orders")
        retry = await client.post(
            f"/admin/orders/{FILLED['order_id']}/retry", data={"csrf": csrf_of(orders)}
        )
    assert retry.status_code == 403
    assert "Your role (viewer) cannot do this; it needs operator." in retry.text
    assert stand_ins.posts == []
