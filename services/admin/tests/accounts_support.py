"""Admins of each role for the tests of sessions, roles and the second factor."""

import httpx
from admin_support import ALICE, ALICE_APP, RunningAdmin

from bitloot_admin.adapters.unit_of_work import AdminUnitOfWork
from bitloot_admin.domain.roles import Role
from bitloot_admin.handlers.accounts import CreateAdmin

PASSWORD = "a-long-enough-password"


async def add_admin(admin: RunningAdmin, username: str, role: Role) -> None:
    await CreateAdmin(admin.runtime.units_of_work(AdminUnitOfWork))(username, PASSWORD, role)


async def token_of(client: httpx.AsyncClient, username: str, totp: str | None = None) -> str:
    """A session of `username` through the JSON login (alice: with her app's code)."""
    if username == ALICE["username"]:
        body = {**ALICE, "totp": ALICE_APP.code()}
    else:
        body = {"username": username, "password": PASSWORD}
        if totp is not None:
            body["totp"] = totp
    answer = await client.post("/admin/login", json=body)
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
