"""Login rate limiting per client address and per username, counted in PostgreSQL."""

from typing import Any

import httpx
import pytest
from admin_support import ALICE, RunningAdmin
from sqlalchemy import select

from bitloot_admin.adapters.orm import admin_audit


@pytest.fixture
def admin_settings() -> dict[str, Any]:
    """The admin service allows 3 logins per client and per username each hour."""
    return {"login_attempts": 3, "login_window_seconds": 3600}


def client_from(admin: RunningAdmin, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=admin.app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_a_client_past_the_limit_gets_429_with_retry_after_even_for_another_username(
    admin: RunningAdmin,
) -> None:
    async with client_from(admin, "192.0.2.1") as client:
        for name in ("bob", "carol", "dave"):
            answer = await client.post("/admin/login", json={"username": name, "password": "x"})
            assert answer.status_code == 401
        refused = await client.post("/admin/login", json=ALICE)
    assert refused.status_code == 429
    assert refused.json()["error"] == "too_many_logins"
    assert 3500 < int(refused.headers["retry-after"]) <= 3600
    async with admin.runtime.engine.connect() as connection:
        outcomes = (await connection.scalars(select(admin_audit.c.outcome))).all()
    assert "throttled" in outcomes


async def test_a_username_past_the_limit_is_refused_from_every_client(
    admin: RunningAdmin,
) -> None:
    for number in range(3):
        async with client_from(admin, f"192.0.2.{10 + number}") as client:
            wrong = await client.post("/admin/login", json={**ALICE, "password": "wrong-guess"})
            assert wrong.status_code == 401
    async with client_from(admin, "192.0.2.99") as fresh:
        refused = await fresh.post("/admin/login", json=ALICE)
        other = await fresh.post("/admin/login", json={"username": "bob", "password": "x"})
    assert refused.status_code == 429
    assert other.status_code == 401
