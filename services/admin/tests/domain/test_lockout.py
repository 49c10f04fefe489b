from datetime import UTC, datetime, timedelta

from bitloot_admin.domain.lockout import (
    LOCK_DURATION,
    MAX_FAILURES,
    AccountState,
    LoginOutcome,
    attempt,
)

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def test_the_fifth_wrong_password_locks_the_account_for_fifteen_minutes() -> None:
    state = AccountState(0, None)
    for _ in range(MAX_FAILURES):
        outcome, state = attempt(state, password_ok=False, now=NOW)
        assert outcome is LoginOutcome.REJECTED
    assert state.locked_until == NOW + LOCK_DURATION == NOW + timedelta(minutes=15)


def test_a_locked_account_refuses_even_the_right_password_until_the_lock_ends() -> None:
    locked = AccountState(0, NOW + LOCK_DURATION)
    assert attempt(locked, password_ok=True, now=NOW)[0] is LoginOutcome.LOCKED
    later = NOW + LOCK_DURATION + timedelta(seconds=1)
    assert attempt(locked, password_ok=True, now=later) == (
        LoginOutcome.ACCEPTED,
        AccountState(0, None),
    )


def test_a_right_password_forgets_earlier_failures() -> None:
    outcome, state = attempt(AccountState(MAX_FAILURES - 1, None), password_ok=True, now=NOW)
    assert outcome is LoginOutcome.ACCEPTED
    assert state == AccountState(0, None)
