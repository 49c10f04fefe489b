"""Fixtures of the admin tests (helpers in admin_support.py)."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from accounts_support import PASSWORD
from admin_fakes import FakeAdminWork
from admin_support import (
    RunningAdmin,
    StandIns,
    alice_settings,
    bearer_login,
    log_in,
    running_admin,
    serve_stand_ins,
)

from bitloot_admin.domain.roles import Role
from bitloot_admin.handlers.accounts import CreateAdmin
from bitloot_testing.rabbitmq import BusNamespace


@pytest.fixture
async def db() -> FakeAdminWork:
    """The admin's repositories in memory, holding olivia: an operator, no second factor."""
    db = FakeAdminWork()
    await CreateAdmin(db.work)("olivia", PASSWORD, Role.OPERATOR)
    return db


@pytest.fixture
async def stand_ins() -> AsyncIterator[StandIns]:
    async with serve_stand_ins() as services:
        yield services


@pytest.fixture
def admin_settings() -> dict[str, Any]:
    """The admin's settings beyond alice's: a test module overrides it to change some."""
    return {}


@pytest.fixture
async def admin(
    database_url: str, bus_prefix: BusNamespace, stand_ins: StandIns, admin_settings: dict[str, Any]
) -> AsyncIterator[RunningAdmin]:
    """The admin service, started, whose only admin is alice (its initial admin)."""
    settings = alice_settings(database_url, bus_prefix, stand_ins, **admin_settings)
    async with running_admin(settings, bus_prefix) as running:
        yield running


@pytest.fixture
async def alice(admin: RunningAdmin) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the admin service holding alice's Bearer session."""
    async with admin.client() as client:
        await bearer_login(client)
        yield client


@pytest.fixture
async def browser(admin: RunningAdmin) -> AsyncIterator[httpx.AsyncClient]:
    """A client logged in through the login form: it holds the session cookie."""
    async with admin.client() as client:
        await log_in(client)
        yield client
