"""Admin sessions on the server's side: checking one on every request, logging one out,
and what ends all of an admin's sessions (its role, disabling it)."""

import logging
from datetime import UTC, datetime
from typing import Unpack

from pydantic import JsonValue

from bitloot_admin.domain.accounts import AccountChange, Standing
from bitloot_admin.domain.roles import Role
from bitloot_admin.handlers.accounts import audit
from bitloot_admin.handlers.ports import UsesWork
from bitloot_runtime.tokens import AdminSession

logger = logging.getLogger(__name__)


class AccountNotFound(LookupError):
    def __init__(self, username: str) -> None:
        super().__init__(f"No admin is called {username[:64]!r}.")


class CheckSession(UsesWork):
    """The account behind `session`, as it stands now (one indexed query)."""

    async def __call__(self, session: AdminSession) -> Standing | None:
        async with self._work() as uow:
            return await uow.accounts.standing(session.username, session.session_id)


class LogOut(UsesWork):
    """Revoke this session on every admin instance until it would have expired."""

    async def __call__(self, session: AdminSession) -> None:
        async with self._work() as uow:
            now = datetime.now(UTC)
            await uow.accounts.revoke_session(session.session_id, session.expires_at, now)
            await audit(uow, session.username, "logout", {})
            await uow.commit()


class _AccountChange(UsesWork):
    """A change an owner makes to an account from the server (`entrypoints.cli`), audited;
    `AccountNotFound` if there is no such admin."""

    async def _apply(
        self,
        username: str,
        action: str,
        detail: dict[str, JsonValue],
        *,
        ends_sessions: bool = False,
        forget_recovery_codes: bool = False,
        **values: Unpack[AccountChange],
    ) -> None:
        async with self._work() as uow:
            if not await uow.accounts.change(username, ends_sessions=ends_sessions, **values):
                raise AccountNotFound(username)
            if forget_recovery_codes:
                await uow.accounts.replace_recovery_codes(username, [])
            await audit(uow, username, action, {**detail, "via": "cli"})
            await uow.commit()
        logger.info("admin account changed", extra={"username": username, "action": action})


class SetRole(_AccountChange):
    """Give `username` another role; it applies to its next request."""

    async def __call__(self, username: str, role: Role) -> None:
        await self._apply(username, "admin_role_set", {"role": role.label}, role=role.label)


class DisableAdmin(_AccountChange):
    """Refuse `username`'s logins and every session it holds."""

    async def __call__(self, username: str) -> None:
        now = datetime.now(UTC)
        await self._apply(username, "admin_disabled", {}, ends_sessions=True, disabled_at=now)


class EnableAdmin(_AccountChange):
    async def __call__(self, username: str) -> None:
        await self._apply(username, "admin_enabled", {}, disabled_at=None)


class ResetTotp(_AccountChange):
    """Remove `username`'s second factor (a lost phone and no recovery code left): an
    owner is sent to enrol again at its next login; its sessions end."""

    async def __call__(self, username: str) -> None:
        await self._apply(
            username,
            "totp_reset",
            {},
            ends_sessions=True,
            forget_recovery_codes=True,
            totp_secret=None,
            totp_pending_secret=None,
            totp_last_step=None,
        )
