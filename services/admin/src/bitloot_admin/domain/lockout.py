"""When a login is refused: too many wrong passwords lock the account for a while."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

MAX_FAILURES = 5
LOCK_DURATION = timedelta(minutes=15)


class LoginOutcome(Enum):
    """What a login attempt amounts to."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    LOCKED = "locked"


@dataclass(frozen=True)
class AccountState:
    """An admin's standing: wrong passwords in a row, and the lock they caused."""

    failed_logins: int
    locked_until: datetime | None

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and now < self.locked_until


def attempt(
    state: AccountState, password_ok: bool, now: datetime
) -> tuple[LoginOutcome, AccountState]:
    """The outcome of one attempt and the account's next state.

    A locked account refuses even the right password, so that guessing cannot go on
    during the lock; the failure that reaches `MAX_FAILURES` starts the lock.
    """
    if state.is_locked(now):
        return LoginOutcome.LOCKED, state
    if password_ok:
        return LoginOutcome.ACCEPTED, AccountState(failed_logins=0, locked_until=None)
    failures = state.failed_logins + 1
    if failures >= MAX_FAILURES:
        return LoginOutcome.REJECTED, AccountState(0, now + LOCK_DURATION)
    return LoginOutcome.REJECTED, AccountState(failures, None)
