"""Logging in and out, lockout, and the session guard in front of /admin."""

import re
from datetime import UTC, datetime, timedelta

import jwt
from admin_support import ALICE, ALICE_APP, SESSION_PUBLIC_KEY, RunningAdmin, login_form
from sqlalchemy import select

from bitloot_admin.adapters.orm import admin_audit, admins
from bitloot_runtime.tokens import AdminTokenVerifier, parse_public_keys


def alice() -> dict[str, str]:
    """alice's JSON login: her password and her app's code."""
    return {**ALICE, "totp": ALICE_APP.code()}


async def test_the_login_form_sets_an_httponly_strict_session_cookie_and_opens_the_home_page(
    admin: RunningAdmin,
) -> None:
    async with admin.client() as client:
        answer = await login_form(client)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/admin/"
        cookie = next(c for c in answer.headers.get_list("set-cookie") if "bitloot_admin=" in c)
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie
        assert "Path=/admin" in cookie
        assert (await client.get("/admin/")).status_code == 200
        assert (await client.get("/admin/orders")).status_code == 200


async def test_a_login_form_without_the_csrf_token_is_refused(admin: RunningAdmin) -> None:
    async with admin.client() as client:
        await client.get("/admin/login")
        answer = await client.post("/admin/login", data={**ALICE, "csrf": "forged"})
    assert answer.status_code == 403
    assert answer.json()["error"] == "csrf_failed"


async def test_a_wrong_password_is_401_and_five_lock_the_account_even_for_the_right_one(
    admin: RunningAdmin,
) -> None:
    async with admin.client() as client:
        for _ in range(5):
            answer = await client.post("/admin/login", json={**ALICE, "password": "wrong-guess"})
            assert answer.status_code == 401
            assert answer.json()["error"] == "invalid_credentials"
        locked = await client.post("/admin/login", json=alice())
        assert locked.status_code == 423
        assert locked.json()["error"] == "locked"
        assert (await login_form(client)).status_code == 423
    async with admin.runtime.engine.connect() as connection:
        account = (await connection.execute(select(admins))).one()
        actions = (await connection.scalars(select(admin_audit.c.action))).all()
    assert account.locked_until is not None
    assert actions.count("login_rejected") == 5
    assert "login_locked" in actions


async def test_without_a_session_the_api_answers_401_and_pages_redirect_to_the_login(
    admin: RunningAdmin,
) -> None:
    async with admin.client() as client:
        api = await client.get("/admin/api/orders")
        page = await client.get("/admin/orders")
        forged = await client.get(
            "/admin/api/orders", headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."}
        )
    assert (api.status_code, api.json()["error"]) == (401, "unauthorized")
    assert (page.status_code, page.headers["location"]) == (303, "/admin/login")
    assert forged.status_code == 401


async def test_admin_pages_are_not_cached_nor_framed(admin: RunningAdmin) -> None:
    async with admin.client() as client:
        answer = await client.get("/admin/login")
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


async def test_logout_ends_the_browser_session(admin: RunningAdmin) -> None:
    async with admin.client() as client:
        await login_form(client)
        orders = await client.get("/admin/orders")
        match = re.search(r'name="csrf" value="([^"]+)"', orders.text)
        assert match
        answer = await client.post("/admin/logout", data={"csrf": match.group(1)})
        assert (answer.status_code, answer.headers["location"]) == (303, "/admin/login")
        assert (await client.get("/admin/orders")).status_code == 303


async def test_a_session_token_is_verified_by_the_public_key_alone_and_hs256_is_refused(
    admin: RunningAdmin,
) -> None:
    """Other services (fulfillment's live status) accept admin tokens with only the public
    key; a token signed with a shared secret, as sessions once were, opens nothing."""
    async with admin.client() as client:
        token = (await client.post("/admin/login", json=alice())).json()["token"]
        hs256 = jwt.encode(
            {"sub": "alice", "exp": datetime.now(UTC) + timedelta(minutes=5)},
            "s" * 40,
            algorithm="HS256",
        )
        refused = await client.get(
            "/admin/api/orders", headers={"Authorization": f"Bearer {hs256}"}
        )
    verifier = AdminTokenVerifier(parse_public_keys(f"a1:{SESSION_PUBLIC_KEY}"))
    assert verifier.verify(token) == "alice"
    assert refused.status_code == 401
