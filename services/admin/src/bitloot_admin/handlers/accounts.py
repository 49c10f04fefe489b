"""Creating admins and logging them in, each in one transaction with its audit record."""

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import JsonValue
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bitloot_admin.adapters import audit
from bitloot_admin.adapters import throttle as throttle_store
from bitloot_admin.adapters.accounts import Account, AccountRepository
from bitloot_admin.adapters.audit import AuditEntry
from bitloot_admin.domain.lockout import AccountState, LoginOutcome, attempt
from bitloot_admin.domain.passwords import (
    hash_password,
    needs_rehash,
    rehash,
    verify_password,
)
from bitloot_admin.domain.roles import Role
from bitloot_admin.domain.totp import SecondFactor, check_code, is_totp_code, recovery_hash

logger = logging.getLogger(__name__)

Sessions = async_sessionmaker[AsyncSession]

# argon2id holds 19 MiB for each hash it computes (domain.passwords): one thread computes
# them all, so a burst of logins waits in turn rather than holding 19 MiB each.
_hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="argon2")


async def create_admin(
    sessionmaker: Sessions, username: str, password: str, role: Role | None = None
) -> bool:
    """Create `username` (a viewer unless `role` says otherwise) or reset its password,
    lifting any lock and ending its sessions (and set its role if given); True if created."""
    password_hash = await asyncio.get_running_loop().run_in_executor(
        _hasher, hash_password, password
    )
    async with sessionmaker() as session, session.begin():
        repository = AccountRepository(session)
        created = await repository.upsert(username, password_hash, role)
        action = "admin_created" if created else "admin_password_set"
        detail: dict[str, JsonValue] = {"via": "cli"}
        if role is not None:
            detail["role"] = role.label
        await repository.audit(username, action, detail)
    return created


async def ensure_initial_admin(
    sessionmaker: Sessions, username: str, password: str, totp_secret: str | None = None
) -> None:
    """Create the configured first admin, an owner, only while no admin exists at all;
    with `totp_secret` its second factor is enrolled already (the demo prints it)."""
    async with sessionmaker() as session, session.begin():
        if await AccountRepository(session).any_exists():
            return
    await create_admin(sessionmaker, username, password, Role.OWNER)
    if totp_secret is not None:
        async with sessionmaker() as session, session.begin():
            await AccountRepository(session).change(username, totp_secret=totp_secret)
    logger.info("initial admin created", extra={"username": username})


@dataclass(frozen=True)
class Login:
    """How a login attempt ended and, when accepted, the session generation to issue."""

    outcome: LoginOutcome
    generation: int = 0


async def login(
    sessionmaker: Sessions,
    username: str,
    password: str | None,
    code: str | None,
    now: datetime | None = None,
) -> Login:
    """Check one login attempt, count failures, lock after too many, audit the outcome.

    `password` None is the second step of a login whose password was already right (the
    page's code form, holding a signed challenge); `code` the TOTP or a recovery code,
    needed once the account has a second factor. A disabled account is refused like a
    wrong password."""
    now = now or datetime.now(UTC)
    async with sessionmaker() as session, session.begin():
        repository = AccountRepository(session)
        account = await repository.get_for_update(username)
        stored = account.password_hash if account else None
        password_ok = password is None or await asyncio.get_running_loop().run_in_executor(
            _hasher, verify_password, stored, password
        )
        if account is None or account.disabled:
            outcome, state = LoginOutcome.REJECTED, AccountState(0, None)
        else:
            second = SecondFactor.NOT_NEEDED
            if password_ok and not account.state.is_locked(now):
                second = await _second_factor(repository, account, code, now)
            outcome, state = attempt(account.state, password_ok, now, second)
            await repository.save_state(username, state)
            if outcome is LoginOutcome.ACCEPTED and password and needs_rehash(stored or ""):
                await _rehash(repository, username, password)
        await repository.audit(
            username,
            f"login_{outcome.value}",
            {
                "known": account is not None,
                "locked": state.locked_until is not None,
                "disabled": bool(account and account.disabled),
            },
            outcome="ok" if outcome is LoginOutcome.ACCEPTED else outcome.value,
        )
    logger.info("admin login", extra={"username": username, "outcome": outcome.value})
    return Login(outcome, account.generation if account else 0)


async def _second_factor(
    repository: AccountRepository, account: Account, code: str | None, now: datetime
) -> SecondFactor:
    """The account's second factor for this attempt; an accepted code's step is kept (a
    code works once), a recovery code spent."""
    if account.totp_secret is None:
        return SecondFactor.NOT_NEEDED
    if not code:
        return SecondFactor.MISSING
    if not is_totp_code(code):
        used = await repository.use_recovery_code(account.username, recovery_hash(code))
        if used:
            await repository.audit(account.username, "recovery_code_used", {})
        return SecondFactor.ACCEPTED if used else SecondFactor.WRONG
    checked = check_code(account.totp_secret, code, now, account.totp_last_step)
    if checked.step is not None:
        await repository.change(account.username, totp_last_step=checked.step)
    return checked.verdict


async def _rehash(repository: AccountRepository, username: str, password: str) -> None:
    """Replace a hash made with older parameters, now that the password is known to be
    right; audited, so an admin can see when each account moved."""
    password_hash = await asyncio.get_running_loop().run_in_executor(_hasher, rehash, password)
    await repository.set_password_hash(username, password_hash)
    await repository.audit(username, "admin_password_rehashed", {})


@dataclass(frozen=True)
class LoginLimits:
    """At most `attempts` logins per client address and per username every `window`."""

    attempts: int
    window: timedelta


async def throttle(
    sessionmaker: Sessions, username: str, client: str, limits: LoginLimits
) -> timedelta | None:
    """Count a login attempt for the client and the username (committed whatever the
    login's outcome); how long to wait if either is over its limit, else None."""
    now = datetime.now(UTC)
    async with sessionmaker() as session, session.begin():
        verdicts = [
            await throttle_store.count(session, key, now, limits.attempts, limits.window)
            for key in (f"ip:{client}", f"user:{username}")
        ]
        refused = [verdict.retry_after for verdict in verdicts if not verdict.allowed]
        if refused:
            detail: dict[str, JsonValue] = {"client": client}
            entry = AuditEntry(username, "login_throttled", username, "throttled", detail)
            await audit.write(session, entry)
    if not refused:
        return None
    logger.warning("admin login throttled", extra={"username": username, "client": client})
    return max(refused)


async def record(sessionmaker: Sessions, username: str, action: str) -> None:
    """Audit an action that changes nothing else (a logout)."""
    async with sessionmaker() as session, session.begin():
        await AccountRepository(session).audit(username, action, {})
