"""Sessions on the server's side: a logout revokes its token on every admin instance, and
a validly signed token of a missing admin or an ended session opens nothing (what ends an
admin's sessions: handlers/test_sessions.py, on the in-memory repositories)."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from accounts_support import bearer, token_of
from admin_support import SESSION_PRIVATE_KEY, RunningAdmin, running_admin
from sqlalchemy import insert, select

from bitloot_admin.adapters.orm import admin_revoked_sessions
from bitloot_runtime.tokens import AdminTokenSigner, load_private_key
from bitloot_testing.rabbitmq import BusNamespace


def signed(username: str, generation: int = 0) -> str:
    """A token signed with the admin's own key, as its login would issue."""
    signer = AdminTokenSigner("a1", load_private_key(SESSION_PRIVATE_KEY), timedelta(minutes=5))
    return signer.issue(username, generation=generation)


async def test_a_logged_out_token_is_refused_by_every_admin_instance_until_it_expires(
    admin: RunningAdmin, bus_prefix: BusNamespace
) -> None:
    async with admin.client() as client:
        token = await token_of(client, "alice")
        assert (await client.get("/admin/api/orders", headers=bearer(token))).status_code == 200
        out = await client.post("/admin/logout", headers=bearer(token))
        assert (out.status_code, out.headers["location"]) == (303, "/admin/login")
        refused = await client.get("/admin/api/orders", headers=bearer(token))
    assert (refused.status_code, refused.json()["error"]) == (401, "session_revoked")
    # A second instance of the admin service, on the same database, refuses it too.
    async with running_admin(admin.settings, bus_prefix) as other, other.client() as client:
        again = await client.get("/admin/api/orders", headers=bearer(token))
        page = await client.get("/admin/orders", headers=bearer(token))
    assert (again.status_code, again.json()["error"]) == (401, "session_revoked")
    assert (page.status_code, page.headers["location"]) == (303, "/admin/login")


async def test_a_logout_keeps_its_token_until_expiry_and_sweeps_the_expired_ones(
    admin: RunningAdmin,
) -> None:
    expired, now = uuid4(), datetime.now(UTC)
    async with admin.runtime.engine.begin() as connection:
        await connection.execute(
            insert(admin_revoked_sessions).values(
                session_id=expired, expires_at=now - timedelta(seconds=1)
            )
        )
    async with admin.client() as client:
        token = await token_of(client, "alice")
        await client.post("/admin/logout", headers=bearer(token))
    async with admin.runtime.engine.connect() as connection:
        rows = (await connection.execute(select(admin_revoked_sessions))).all()
    (row,) = rows
    assert now + timedelta(minutes=29) < row.expires_at <= now + timedelta(minutes=31)


async def test_a_validly_signed_token_naming_no_admin_or_no_session_is_refused(
    admin: RunningAdmin,
) -> None:
    async with admin.client() as client:
        ghost = await client.get("/admin/api/orders", headers=bearer(signed("ghost")))
        moved_on = await client.get("/admin/api/orders", headers=bearer(signed("alice", 7)))
        page = await client.get("/admin/", headers=bearer(signed("ghost")))
    assert (ghost.status_code, ghost.json()["error"]) == (401, "admin_unknown")
    assert (moved_on.status_code, moved_on.json()["error"]) == (401, "session_revoked")
    assert (page.status_code, page.headers["location"]) == (303, "/admin/login")
