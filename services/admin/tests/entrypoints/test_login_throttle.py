"""Login rate limiting per client address and per username, counted in PostgreSQL."""

from collections.abc import AsyncIterator

import httpx
import pytest
from admin_support import ALICE, RunningAdmin, StandIns, alice_settings, running_admin
from sqlalchemy import select

from bitloot_admin.adapters.orm import admin_audit
from bitloot_testing.rabbitmq import BusNamespace


@pytest.fixture
async def strict_admin(
    database_url: str, bus_prefix: BusNamespace, stand_ins: StandIns
) -> AsyncIterator[RunningAdmin]:
    """The admin service allowing 3 logins per client and per username each hour."""
    settings = alice_settings(
        database_url, bus_prefix, stand_ins, login_attempts=3, login_window_seconds=3600
    )
    async with running_admin(settings, bus_prefix) as running:
        yield running


def client_from(admin: RunningAdmin, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=admin.app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_a_client_past_the_limit_gets_429_with_retry_after_even_for_another_username(
    strict_admin: RunningAdmin,
) -> None:
    async with client_from(strict_admin, "192.0.2.1") as client:
        for name in ("bob", "carol", "dave"):
            answer = await client.post("/admin/login", json={"username": name, "password": "x"})
            assert answer.status_code == 401
        refused = await client.post("/admin/login", json=ALICE)
    assert refused.status_code == 429
    assert refused.json()["error"] == "too_many_logins"
    assert 3500 < int(refused.headers["retry-after"]) <= 3600
    async with strict_admin.runtime.engine.connect() as connection:
        outcomes = (await connection.scalars(select(admin_audit.c.outcome))).all()
    assert "throttled" in outcomes


async def test_a_username_past_the_limit_is_refused_from_every_client(
    strict_admin: RunningAdmin,
) -> None:
    for number in range(3):
        async with client_from(strict_admin, f"192.0.2.{10 + number}") as client:
            wrong = await client.post("/admin/login", json={**ALICE, "password": "wrong-guess"})
            assert wrong.status_code == 401
    async with client_from(strict_admin, "192.0.2.99") as fresh:
        refused = await fresh.post("/admin/login", json=ALICE)
        other = await fresh.post("/admin/login", json={"username": "bob", "password": "x"})
    assert refused.status_code == 429
    assert other.status_code == 401
