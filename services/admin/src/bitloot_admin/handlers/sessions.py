"""Admin sessions on the server's side: checking one on every request, logging one out,
and what ends all of an admin's sessions (its role, disabling it)."""

import logging
from datetime import UTC, datetime

from pydantic import JsonValue
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bitloot_admin.adapters import accounts as account_store
from bitloot_admin.adapters.accounts import AccountRepository, Standing
from bitloot_admin.domain.roles import Role
from bitloot_runtime.tokens import AdminSession

logger = logging.getLogger(__name__)

Sessions = async_sessionmaker[AsyncSession]


class AccountNotFound(LookupError):
    def __init__(self, username: str) -> None:
        super().__init__(f"No admin is called {username[:64]!r}.")


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


async def check(sessionmaker: Sessions, session: AdminSession) -> Standing | None:
    """The account behind `session`, as it stands now (one indexed query)."""
    async with sessionmaker() as db:
        return await account_store.standing(db, session.username, session.session_id)


async def log_out(sessionmaker: Sessions, session: AdminSession) -> None:
    """Revoke this session on every admin instance until it would have expired."""
    async with sessionmaker() as db, db.begin():
        repository = AccountRepository(db)
        await repository.revoke_session(session.session_id, session.expires_at, datetime.now(UTC))
        await repository.audit(session.username, "logout", {})


async def set_role(sessionmaker: Sessions, username: str, role: Role) -> None:
    """Give `username` another role; it applies to its next request."""
    await _change(sessionmaker, username, "admin_role_set", {"role": role.label}, role=role.label)


async def disable(sessionmaker: Sessions, username: str) -> None:
    """Refuse `username`'s logins and every session it holds."""
    now = datetime.now(UTC)
    await _change(sessionmaker, username, "admin_disabled", {}, ends_sessions=True, disabled_at=now)


async def enable(sessionmaker: Sessions, username: str) -> None:
    await _change(sessionmaker, username, "admin_enabled", {}, disabled_at=None)


async def reset_totp(sessionmaker: Sessions, username: str) -> None:
    """Remove `username`'s second factor (a lost phone and no recovery code left): an
    owner is sent to enrol again at its next login; its sessions end."""
    await _change(
        sessionmaker,
        username,
        "totp_reset",
        {},
        ends_sessions=True,
        totp_secret=None,
        totp_pending_secret=None,
        totp_last_step=None,
    )
    async with sessionmaker() as db, db.begin():
        await AccountRepository(db).replace_recovery_codes(username, [])


async def _change(
    sessionmaker: Sessions,
    username: str,
    action: str,
    detail: dict[str, JsonValue],
    *,
    ends_sessions: bool = False,
    **values: object,
) -> None:
    async with sessionmaker() as db, db.begin():
        repository = AccountRepository(db)
        change = repository.end_sessions if ends_sessions else repository.change
        if not await change(username, **values):
            raise AccountNotFound(username)
        await repository.audit(username, action, {**detail, "via": "cli"})
    logger.info("admin account changed", extra={"username": username, "action": action})
