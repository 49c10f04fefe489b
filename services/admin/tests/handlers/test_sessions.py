"""Sessions on the server's side, the owner's account changes and enrolling a second
factor, on the in-memory repositories."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pyotp
import pytest
from accounts_support import PASSWORD
from admin_fakes import FakeAdminWork

from bitloot_admin.domain.accounts import refusal
from bitloot_admin.domain.lockout import LoginOutcome
from bitloot_admin.domain.roles import Role
from bitloot_admin.domain.totp import RECOVERY_CODES
from bitloot_admin.handlers.accounts import CreateAdmin, LogIn
from bitloot_admin.handlers.second_factor import ConfirmTotp, EnrolmentRefused, ShowEnrolment
from bitloot_admin.handlers.sessions import (
    AccountNotFound,
    CheckSession,
    DisableAdmin,
    EnableAdmin,
    LogOut,
    ResetTotp,
    SetRole,
)
from bitloot_runtime.tokens import AdminSession


def session_of(username: str, generation: int = 0) -> AdminSession:
    expires = datetime.now(UTC) + timedelta(minutes=30)
    return AdminSession(username, uuid4(), expires, generation)


async def refused(db: FakeAdminWork, session: AdminSession) -> str | None:
    return refusal(session, await CheckSession(db.work)(session))


async def test_a_logged_out_session_is_refused_and_the_others_stand(db: FakeAdminWork) -> None:
    mine, other = session_of("olivia"), session_of("olivia")
    await LogOut(db.work)(mine)
    assert await refused(db, mine) == "session_revoked"
    assert await refused(db, other) is None
    assert await refused(db, session_of("nobody")) == "admin_unknown"
    assert db.audit.actions()[-1] == "logout"


async def test_disabling_refuses_every_session_and_enabling_does_not_bring_them_back(
    db: FakeAdminWork,
) -> None:
    before = session_of("olivia")
    await DisableAdmin(db.work)("olivia")
    assert await refused(db, before) == "admin_disabled"
    await EnableAdmin(db.work)("olivia")
    assert await refused(db, before) == "session_revoked"
    login = await LogIn(db.work)("olivia", PASSWORD, None)
    assert (login.outcome, login.generation) == (LoginOutcome.ACCEPTED, 1)
    assert await refused(db, session_of("olivia", login.generation)) is None
    assert db.audit.actions()[-3:] == ["admin_disabled", "admin_enabled", "login_accepted"]


async def test_a_password_change_ends_every_session_of_that_admin_only(db: FakeAdminWork) -> None:
    await CreateAdmin(db.work)("vera", PASSWORD)
    first, second, veras = session_of("olivia"), session_of("olivia"), session_of("vera")
    await CreateAdmin(db.work)("olivia", "another-long-password")
    assert [await refused(db, session) for session in (first, second, veras)] == [
        "session_revoked",
        "session_revoked",
        None,
    ]
    login = await LogIn(db.work)("olivia", "another-long-password", None)
    assert login.outcome is LoginOutcome.ACCEPTED
    assert await refused(db, session_of("olivia", login.generation)) is None


async def test_a_new_role_applies_to_the_next_request_without_ending_sessions(
    db: FakeAdminWork,
) -> None:
    await SetRole(db.work)("olivia", Role.OWNER)
    standing = await CheckSession(db.work)(session_of("olivia"))
    assert standing is not None
    assert (standing.role, standing.generation) == (Role.OWNER, 0)
    assert db.audit.records[-1].detail == {"role": "owner", "via": "cli"}


async def test_changing_an_unknown_admin_is_refused_and_audits_nothing(db: FakeAdminWork) -> None:
    with pytest.raises(AccountNotFound):
        await DisableAdmin(db.work)("nobody")
    assert db.audit.actions() == ["admin_created"]


async def test_enrolment_keeps_one_pending_secret_until_a_right_code_confirms_it(
    db: FakeAdminWork,
) -> None:
    first = await ShowEnrolment(db.work)("olivia")
    assert not first.enrolled
    assert first.secret is not None
    assert (await ShowEnrolment(db.work)("olivia")).secret == first.secret
    with pytest.raises(EnrolmentRefused) as wrong:
        await ConfirmTotp(db.work)("olivia", "not-a-code")
    assert wrong.value.code == "invalid_totp"
    assert db.accounts.rows["olivia"].totp_secret is None
    codes = await ConfirmTotp(db.work)("olivia", pyotp.TOTP(first.secret).now())
    assert len(codes) == RECOVERY_CODES
    row = db.accounts.rows["olivia"]
    assert (row.totp_secret, row.totp_pending_secret) == (first.secret, None)
    assert (await ShowEnrolment(db.work)("olivia")).recovery_codes_left == RECOVERY_CODES
    assert db.audit.actions()[-1] == "totp_enrolled"


async def test_a_totp_reset_forgets_the_factor_and_its_codes_and_ends_sessions(
    db: FakeAdminWork,
) -> None:
    secret = (await ShowEnrolment(db.work)("olivia")).secret
    assert secret is not None
    await ConfirmTotp(db.work)("olivia", pyotp.TOTP(secret).now())
    await ResetTotp(db.work)("olivia")
    row = db.accounts.rows["olivia"]
    assert (row.totp_secret, db.accounts.codes["olivia"], row.generation) == (None, set(), 1)
    with pytest.raises(EnrolmentRefused):
        await ConfirmTotp(db.work)("olivia", pyotp.TOTP(secret).now())
