"""Every admin API endpoint fuzzed from its OpenAPI description (issue #11): no request,
valid or not, gets a 5xx or an answer the description does not list, and without a
session nothing changes but the failed-login counters and their audit."""

import httpx
import pytest
from admin_support import RunningAdmin
from sqlalchemy import text

from bitloot_testing.fuzz import Target, fuzz, unchanged_by

# Failed logins are counted per user and client by design (the brute-force limit), and
# each refused or throttled login is audited: those two tables are checked on their own.
COUNTED = frozenset({"login_throttle", "admin_audit"})


async def audited(admin: RunningAdmin) -> list[tuple[int, str]]:
    async with admin.runtime.engine.connect() as connection:
        rows = await connection.execute(text("SELECT id, action FROM admin_audit ORDER BY id"))
    return [(row.id, row.action) for row in rows]


@pytest.mark.slow
async def test_every_request_is_answered_as_described_and_only_a_session_changes_state(
    admin: RunningAdmin, alice: httpx.AsyncClient
) -> None:
    before = await audited(admin)
    async with admin.client() as anonymous_client:
        document = (await anonymous_client.get("/admin/openapi.json")).json()
        anonymous, changed = await unchanged_by(
            admin.runtime.engine,
            fuzz(anonymous_client, document, Target(), examples=10),
            leave_out=COUNTED,
        )
    after = await audited(admin)
    session = Target(
        wanted=lambda label: label != "POST /admin/login",
        headers={"authorization": alice.headers["authorization"]},
    )
    authorized = await fuzz(alice, document, session, examples=10)
    failures = anonymous.failures + authorized.failures
    assert failures == [], "\n".join(failures)
    assert changed == {}
    assert after[: len(before)] == before
    assert {action for _id, action in after[len(before) :]} <= {"login_rejected", "login_throttled"}
    assert anonymous.operations == {
        (path, method) for path, operations in document["paths"].items() for method in operations
    }
