"""When a login is refused: too many wrong passwords lock the account for a while."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from bitloot_admin.domain.totp import SecondFactor

MAX_FAILURES = 5
LOCK_DURATION = timedelta(minutes=15)


class LoginOutcome(Enum):
    """What a login attempt amounts to."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    LOCKED = "locked"
    TOTP_REQUIRED = "totp_required"
    TOTP_REJECTED = "totp_rejected"
    TOTP_REPLAYED = "totp_replayed"


@dataclass(frozen=True)
class AccountState:
    """An admin's standing: wrong passwords in a row, and the lock they caused."""

    failed_logins: int
    locked_until: datetime | None

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until


_SECOND_FACTOR_REFUSALS = {
    SecondFactor.WRONG: LoginOutcome.TOTP_REJECTED,
    SecondFactor.REPLAYED: LoginOutcome.TOTP_REPLAYED,
}


def attempt(
    state: AccountState,
    password_ok: bool,
    now: datetime,
    second: SecondFactor = SecondFactor.NOT_NEEDED,
) -> tuple[LoginOutcome, AccountState]:
    """The outcome of one attempt and the account's next state.

    A locked account refuses even the right password, so that guessing cannot go on
    during the lock; the failure that reaches `MAX_FAILURES` starts the lock. A wrong or
    replayed second factor is a failure like a wrong password; the right password
    without a code yet is no failure and no success (the code is asked next).
    """
    if state.is_locked(now):
        return LoginOutcome.LOCKED, state
    if password_ok and second is SecondFactor.MISSING:
        return LoginOutcome.TOTP_REQUIRED, state
    if password_ok and second in (SecondFactor.NOT_NEEDED, SecondFactor.ACCEPTED):
        return LoginOutcome.ACCEPTED, AccountState(failed_logins=0, locked_until=None)
    refused = _SECOND_FACTOR_REFUSALS.get(second, LoginOutcome.REJECTED)
    outcome = refused if password_ok else LoginOutcome.REJECTED
    failures = state.failed_logins + 1
    if failures >= MAX_FAILURES:
        return outcome, AccountState(0, now + LOCK_DURATION)
    return outcome, AccountState(failures, None)
