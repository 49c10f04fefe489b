"""Admin accounts as the handlers see them, and whether a signed session still stands."""

from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from bitloot_admin.domain.lockout import AccountState
from bitloot_admin.domain.roles import Role
from bitloot_runtime.tokens import AdminSession


@dataclass(frozen=True)
class Account:
    username: str
    password_hash: str
    state: AccountState
    role: Role
    disabled: bool
    generation: int
    totp_secret: str | None
    totp_pending_secret: str | None
    totp_last_step: int | None


class AccountChange(TypedDict, total=False):
    """What may be set on an account, by its column's name."""

    role: str
    disabled_at: datetime | None
    totp_secret: str | None
    totp_pending_secret: str | None
    totp_last_step: int | None


@dataclass(frozen=True)
class Standing:
    """What a request's session is worth now: the account's role and whether it may act."""

    role: Role
    disabled: bool
    generation: int
    has_totp: bool
    revoked: bool


def refusal(session: AdminSession, found: Standing | None) -> str | None:
    """Why a validly signed session grants nothing now (its machine-readable reason), or
    None if it stands."""
    if found is None:
        return "admin_unknown"
    if found.disabled:
        return "admin_disabled"
    if found.revoked or found.generation != session.generation:
        return "session_revoked"
    return None
