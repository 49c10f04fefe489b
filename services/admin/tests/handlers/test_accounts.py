"""Creating admins, logging in, the lock after wrong passwords, the second factor and the
login throttle, on the in-memory repositories (the guarantees across instances and
transactions are tested on PostgreSQL through the HTTP app)."""

from datetime import UTC, datetime, timedelta

import pyotp
from accounts_support import PASSWORD
from admin_fakes import FakeAdminWork
from argon2 import PasswordHasher

from bitloot_admin.domain.lockout import LOCK_DURATION, MAX_FAILURES, AccountState, LoginOutcome
from bitloot_admin.domain.roles import Role
from bitloot_admin.domain.totp import STEP_SECONDS, recovery_hash
from bitloot_admin.handlers.accounts import (
    CreateAdmin,
    EnsureInitialAdmin,
    LogIn,
    LoginLimits,
    ThrottleLogin,
)

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


async def test_a_new_admin_is_a_viewer_and_a_password_reset_lifts_its_lock_and_sessions() -> None:
    db = FakeAdminWork()
    assert await CreateAdmin(db.work)("vera", PASSWORD)
    assert db.accounts.rows["vera"].role is Role.VIEWER
    for _ in range(MAX_FAILURES):
        await LogIn(db.work)("vera", "wrong", None, NOW)
    assert db.accounts.rows["vera"].state.is_locked(NOW)
    assert not await CreateAdmin(db.work)("vera", "another-long-password", Role.OWNER)
    row = db.accounts.rows["vera"]
    assert (row.role, row.state, row.generation) == (Role.OWNER, AccountState(0, None), 1)
    rejected = ["login_rejected"] * MAX_FAILURES
    assert db.audit.actions() == ["admin_created", *rejected, "admin_password_set"]
    assert db.audit.records[-1].detail == {"via": "cli", "role": "owner"}


async def test_the_initial_admin_is_an_owner_created_only_while_there_is_no_admin() -> None:
    db = FakeAdminWork()
    await EnsureInitialAdmin(db.work)("alice", PASSWORD, SECRET)
    await EnsureInitialAdmin(db.work)("bob", PASSWORD, None)
    assert list(db.accounts.rows) == ["alice"]
    assert (db.accounts.rows["alice"].role, db.accounts.rows["alice"].totp_secret) == (
        Role.OWNER,
        SECRET,
    )


async def test_the_right_password_logs_in_and_is_audited(db: FakeAdminWork) -> None:
    login = await LogIn(db.work)("olivia", PASSWORD, None, NOW)
    assert (login.outcome, login.generation) == (LoginOutcome.ACCEPTED, 0)
    assert db.audit.records[-1].action == "login_accepted"
    assert db.audit.records[-1].outcome == "ok"


async def test_too_many_wrong_passwords_lock_even_the_right_one_out_until_the_lock_ends(
    db: FakeAdminWork,
) -> None:
    log_in = LogIn(db.work)
    for _ in range(MAX_FAILURES):
        assert (await log_in("olivia", "wrong", None, NOW)).outcome is LoginOutcome.REJECTED
    assert (await log_in("olivia", PASSWORD, None, NOW)).outcome is LoginOutcome.LOCKED
    later = NOW + LOCK_DURATION
    assert (await log_in("olivia", PASSWORD, None, later)).outcome is LoginOutcome.ACCEPTED
    assert db.audit.records[-2].detail == {"known": True, "locked": True, "disabled": False}


async def test_an_unknown_or_disabled_admin_is_refused_like_a_wrong_password(
    db: FakeAdminWork,
) -> None:
    await db.given("olivia", disabled_at=NOW)
    for username in ("olivia", "nobody"):
        login = await LogIn(db.work)(username, PASSWORD, None, NOW)
        assert (login.outcome, login.generation) == (LoginOutcome.REJECTED, 0)
    assert [r.outcome for r in db.audit.records[-2:]] == ["rejected", "rejected"]


async def test_an_enrolled_admin_needs_its_code_and_each_code_works_once(
    db: FakeAdminWork,
) -> None:
    totp = pyotp.TOTP(SECRET)
    await db.given("olivia", totp_secret=SECRET)
    code = totp.at(NOW)
    near = {totp.at(NOW + timedelta(seconds=s)) for s in (-STEP_SECONDS, 0, STEP_SECONDS)}
    wrong = next(c for c in ("000000", "111111", "222222") if c not in near)
    log_in = LogIn(db.work)
    assert (await log_in("olivia", PASSWORD, None, NOW)).outcome is LoginOutcome.TOTP_REQUIRED
    assert (await log_in("olivia", PASSWORD, wrong, NOW)).outcome is LoginOutcome.TOTP_REJECTED
    # A wrong password spends no code.
    assert (await log_in("olivia", "wrong", code, NOW)).outcome is LoginOutcome.REJECTED
    assert (await log_in("olivia", None, code, NOW)).outcome is LoginOutcome.ACCEPTED
    assert db.accounts.rows["olivia"].totp_last_step == int(NOW.timestamp()) // STEP_SECONDS
    assert (await log_in("olivia", None, code, NOW)).outcome is LoginOutcome.TOTP_REPLAYED


async def test_a_recovery_code_is_spent_by_the_login_it_opens(db: FakeAdminWork) -> None:
    await db.given("olivia", totp_secret=SECRET)
    db.accounts.codes["olivia"] = {recovery_hash("abcd-efgh-jkmn")}
    log_in = LogIn(db.work)
    # Typed in capitals, as the code may be read out.
    assert (await log_in("olivia", None, "ABCD-EFGH-JKMN", NOW)).outcome is LoginOutcome.ACCEPTED
    assert (await log_in("olivia", None, "abcd-efgh-jkmn", NOW)).outcome is (
        LoginOutcome.TOTP_REJECTED
    )
    assert "recovery_code_used" in db.audit.actions()


async def test_the_attempt_past_the_limit_waits_for_the_window_and_is_audited(
    db: FakeAdminWork,
) -> None:
    throttle = ThrottleLogin(db.work, LoginLimits(2, timedelta(seconds=60)))
    for _ in range(2):
        assert await throttle("olivia", "10.0.0.1", NOW) is None
    assert await throttle("olivia", "10.0.0.2", NOW + timedelta(seconds=15)) == timedelta(
        seconds=45
    )
    assert db.audit.records[-1].action == "login_throttled"
    assert db.audit.records[-1].detail == {"client": "10.0.0.2"}
    assert await throttle("olivia", "10.0.0.1", NOW + timedelta(seconds=60)) is None


async def test_a_hash_with_older_parameters_is_replaced_at_the_next_right_login_only(
    db: FakeAdminWork,
) -> None:
    old = PasswordHasher().hash(PASSWORD)  # argon2-cffi's default: 64 MiB
    await db.accounts.set_password_hash("olivia", old)
    log_in = LogIn(db.work)
    assert (await log_in("olivia", "wrong-guess", None, NOW)).outcome is LoginOutcome.REJECTED
    assert db.accounts.rows["olivia"].password_hash == old
    assert (await log_in("olivia", PASSWORD, None, NOW)).outcome is LoginOutcome.ACCEPTED
    stored = db.accounts.rows["olivia"].password_hash
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert db.audit.actions().count("admin_password_rehashed") == 1
    # The new hash is the same password: the next login is accepted and changes nothing.
    assert (await log_in("olivia", PASSWORD, None, NOW)).outcome is LoginOutcome.ACCEPTED
    assert db.accounts.rows["olivia"].password_hash == stored
