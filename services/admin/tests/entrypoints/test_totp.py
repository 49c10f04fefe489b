"""The TOTP second factor: enrolment with a first code and ten recovery codes, the code
at login (each once), wrong codes counted toward the lockout, and owners sent to enrol
before anything else."""

import re

import pyotp
from accounts_support import PASSWORD, add_admin, bearer, token_of
from admin_support import ALICE, ALICE_APP, RunningAdmin, csrf_of, password_form
from sqlalchemy import select

from bitloot_admin.adapters.orm import admin_recovery_codes
from bitloot_admin.domain.roles import Role
from bitloot_testing.totp import Authenticator


async def test_an_owner_without_a_second_factor_must_enrol_one_before_anything_else(
    admin: RunningAdmin,
) -> None:
    await add_admin(admin, "olga", Role.OWNER)
    async with admin.client() as client:
        token = await token_of(client, "olga")
        refused = await client.get("/admin/api/orders", headers=bearer(token))
        page = await client.get("/admin/orders", headers=bearer(token))
        me = (await client.get("/admin/api/account", headers=bearer(token))).json()
        enrolment = (await client.get("/admin/api/account/totp", headers=bearer(token))).json()
        app = Authenticator(enrolment["secret"])
        confirm = "/admin/api/account/totp/confirm"
        wrong = await client.post(confirm, json={"code": "000000"}, headers=bearer(token))
        confirmed = await client.post(confirm, json={"code": app.code()}, headers=bearer(token))
        opened = await client.get("/admin/api/orders", headers=bearer(token))
        without_code = await client.post(
            "/admin/login", json={"username": "olga", "password": PASSWORD}
        )
        with_code = await token_of(client, "olga", app.code())
    assert (refused.status_code, refused.json()["error"]) == (403, "totp_enrolment_required")
    assert (page.status_code, page.headers["location"]) == (303, "/admin/account/totp")
    assert me == {
        "username": "olga",
        "role": "owner",
        "totp_required": True,
        "totp_enrolment_required": True,
    }
    assert enrolment["uri"].startswith("otpauth://totp/BitLoot%20admin:olga?secret=")
    assert (wrong.status_code, wrong.json()["error"]) == (422, "invalid_totp")
    codes = confirmed.json()["recovery_codes"]
    assert len(set(codes)) == 10
    assert opened.status_code == 200
    assert (without_code.status_code, without_code.json()["error"]) == (401, "totp_required")
    assert with_code
    async with admin.runtime.engine.connect() as connection:
        stored = (await connection.scalars(select(admin_recovery_codes.c.code_hash))).all()
    assert len(stored) == 10
    assert not set(codes) & set(stored)


async def test_a_code_works_once_and_refused_codes_count_toward_the_lockout(
    admin: RunningAdmin,
) -> None:
    code = ALICE_APP.code()
    async with admin.client() as client:
        first = await client.post("/admin/login", json={**ALICE, "totp": code})
        replayed = await client.post("/admin/login", json={**ALICE, "totp": code})
        for _ in range(4):
            wrong = await client.post("/admin/login", json={**ALICE, "totp": "123456"})
            assert (wrong.status_code, wrong.json()["error"]) == (401, "invalid_totp")
        locked = await client.post("/admin/login", json={**ALICE, "totp": ALICE_APP.code()})
    assert first.status_code == 200
    assert (replayed.status_code, replayed.json()["error"]) == (401, "totp_replayed")
    assert (locked.status_code, locked.json()["error"]) == (423, "locked")


async def test_the_browser_asks_the_code_after_the_password_and_enrols_with_a_qr_code(
    admin: RunningAdmin,
) -> None:
    await add_admin(admin, "olga", Role.OWNER)
    async with admin.client() as client:
        sent = await password_form(client, "olga", PASSWORD)
        assert (sent.status_code, sent.headers["location"]) == (303, "/admin/")
        home = await client.get("/admin/")
        assert (home.status_code, home.headers["location"]) == (303, "/admin/account/totp")
        enrol = await client.get("/admin/account/totp")
        assert "<svg" in enrol.text
        assert "otpauth://totp/" in enrol.text
        secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', enrol.text)
        assert secret
        app = Authenticator(secret.group(1))
        done = await client.post(
            "/admin/account/totp", data={"code": app.code(), "csrf": csrf_of(enrol)}
        )
        assert done.status_code == 200
        assert len(re.findall(r"<li><code>[a-z2-9]{5}-[a-z2-9]{5}</code></li>", done.text)) == 10
        assert (await client.get("/admin/")).status_code == 200
        out = await client.post("/admin/logout", data={"csrf": csrf_of(done)})
        assert out.status_code == 303
        # The next login asks the code on its own page, which holds no password.
        asked = await password_form(client, "olga", PASSWORD)
        assert PASSWORD not in asked.text
        challenge = re.search(r'name="challenge" value="([^"]+)"', asked.text)
        assert challenge
        step = {"challenge": challenge.group(1), "csrf": csrf_of(asked)}
        wrong = await client.post("/admin/login/totp", data={**step, "code": "000000"})
        assert wrong.status_code == 401
        assert "Wrong code." in wrong.text
        right = await client.post("/admin/login/totp", data={**step, "code": app.code()})
        assert (right.status_code, right.headers["location"]) == (303, "/admin/")
        forged = await client.post(
            "/admin/login/totp", data={**step, "challenge": "x.y.z", "code": app.code()}
        )
        assert forged.status_code == 401


def test_the_codes_are_rfc_6238_codes() -> None:
    app = Authenticator()
    assert pyotp.TOTP(app.secret).verify(app.code())
