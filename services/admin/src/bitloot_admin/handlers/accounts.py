"""Creating admins and logging them in, each in one transaction with its audit record."""

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import JsonValue

from bitloot_admin.domain.accounts import Account
from bitloot_admin.domain.audit import AuditEntry
from bitloot_admin.domain.lockout import AccountState, LoginOutcome, attempt
from bitloot_admin.domain.passwords import (
    hash_password,
    needs_rehash,
    rehash,
    verify_password,
)
from bitloot_admin.domain.roles import Role
from bitloot_admin.domain.totp import SecondFactor, check_code, is_totp_code, recovery_hash
from bitloot_admin.handlers.ports import AdminWork, UsesWork

logger = logging.getLogger(__name__)

# argon2id holds 19 MiB for each hash it computes (domain.passwords): one thread computes
# them all, so a burst of logins waits in turn rather than holding 19 MiB each.
_hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="argon2")


async def audit(
    uow: AdminWork, username: str, action: str, detail: dict[str, JsonValue], outcome: str = "ok"
) -> None:
    """Audit what `username` did to its own account (or had done to it)."""
    await uow.audit.add(AuditEntry(username, action, username, outcome, detail))


class CreateAdmin(UsesWork):
    """Create `username` (a viewer unless `role` says otherwise) or reset its password,
    lifting any lock and ending its sessions (and set its role if given); True if created."""

    async def __call__(self, username: str, password: str, role: Role | None = None) -> bool:
        password_hash = await asyncio.get_running_loop().run_in_executor(
            _hasher, hash_password, password
        )
        async with self._work() as uow:
            created = await uow.accounts.upsert(username, password_hash, role)
            detail: dict[str, JsonValue] = {"via": "cli"}
            if role is not None:
                detail["role"] = role.label
            await audit(uow, username, "admin_created" if created else "admin_password_set", detail)
            await uow.commit()
        return created


class EnsureInitialAdmin(UsesWork):
    """Create the configured first admin, an owner, only while no admin exists at all;
    with `totp_secret` its second factor is enrolled already (the demo prints it)."""

    async def __call__(self, username: str, password: str, totp_secret: str | None) -> None:
        async with self._work() as uow:
            if await uow.accounts.any_exists():
                return
        await CreateAdmin(self._work)(username, password, Role.OWNER)
        if totp_secret is not None:
            async with self._work() as uow:
                await uow.accounts.change(username, totp_secret=totp_secret)
                await uow.commit()
        logger.info("initial admin created", extra={"username": username})


@dataclass(frozen=True)
class Login:
    """How a login attempt ended and, when accepted, the session generation to issue."""

    outcome: LoginOutcome
    generation: int = 0


class LogIn(UsesWork):
    """Check one login attempt, count failures, lock after too many, audit the outcome.

    `password` None is the second step of a login whose password was already right (the
    page's code form, holding a signed challenge); `code` the TOTP or a recovery code,
    needed once the account has a second factor. A disabled account is refused like a
    wrong password."""

    async def __call__(
        self, username: str, password: str | None, code: str | None, now: datetime | None = None
    ) -> Login:
        now = now or datetime.now(UTC)
        async with self._work() as uow:
            account = await uow.accounts.get_for_update(username)
            stored = account.password_hash if account else None
            password_ok = password is None or await asyncio.get_running_loop().run_in_executor(
                _hasher, verify_password, stored, password
            )
            if account is None or account.disabled:
                outcome, state = LoginOutcome.REJECTED, AccountState(0, None)
            else:
                second = SecondFactor.NOT_NEEDED
                if password_ok and not account.state.is_locked(now):
                    second = await _second_factor(uow, account, code, now)
                outcome, state = attempt(account.state, password_ok, now, second)
                await uow.accounts.save_state(username, state)
                if outcome is LoginOutcome.ACCEPTED and password and needs_rehash(stored or ""):
                    await _rehash(uow, username, password)
            detail: dict[str, JsonValue] = {
                "known": account is not None,
                "locked": state.locked_until is not None,
                "disabled": bool(account and account.disabled),
            }
            ok = outcome is LoginOutcome.ACCEPTED
            await audit(
                uow, username, f"login_{outcome.value}", detail, "ok" if ok else outcome.value
            )
            await uow.commit()
        logger.info("admin login", extra={"username": username, "outcome": outcome.value})
        return Login(outcome, account.generation if account else 0)


async def _second_factor(
    uow: AdminWork, account: Account, code: str | None, now: datetime
) -> SecondFactor:
    """The account's second factor for this attempt; an accepted code's step is kept (a
    code works once), a recovery code spent."""
    if account.totp_secret is None:
        return SecondFactor.NOT_NEEDED
    if not code:
        return SecondFactor.MISSING
    if not is_totp_code(code):
        used = await uow.accounts.use_recovery_code(account.username, recovery_hash(code))
        if used:
            await audit(uow, account.username, "recovery_code_used", {})
        return SecondFactor.ACCEPTED if used else SecondFactor.WRONG
    checked = check_code(account.totp_secret, code, now, account.totp_last_step)
    if checked.step is not None:
        await uow.accounts.change(account.username, totp_last_step=checked.step)
    return checked.verdict


async def _rehash(uow: AdminWork, username: str, password: str) -> None:
    """Replace a hash made with older parameters, now that the password is known to be
    right; audited, so an admin can see when each account moved."""
    password_hash = await asyncio.get_running_loop().run_in_executor(_hasher, rehash, password)
    await uow.accounts.set_password_hash(username, password_hash)
    await audit(uow, username, "admin_password_rehashed", {})


@dataclass(frozen=True)
class LoginLimits:
    """At most `attempts` logins per client address and per username every `window`."""

    attempts: int
    window: timedelta


class ThrottleLogin:
    """Count a login attempt for the client and the username (committed whatever the
    login's outcome); how long to wait if either is over its limit, else None."""

    def __init__(self, work: Callable[[], AdminWork], limits: LoginLimits) -> None:
        self._work = work
        self._limits = limits

    async def __call__(
        self, username: str, client: str, now: datetime | None = None
    ) -> timedelta | None:
        now = now or datetime.now(UTC)
        attempts, window = self._limits.attempts, self._limits.window
        async with self._work() as uow:
            verdicts = [
                await uow.throttle.count(key, now, attempts, window)
                for key in (f"ip:{client}", f"user:{username}")
            ]
            refused = [verdict.retry_after for verdict in verdicts if not verdict.allowed]
            if refused:
                await audit(uow, username, "login_throttled", {"client": client}, "throttled")
            await uow.commit()
        if not refused:
            return None
        logger.warning("admin login throttled", extra={"username": username, "client": client})
        return max(refused)
