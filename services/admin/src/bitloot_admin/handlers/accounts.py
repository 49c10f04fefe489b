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
from bitloot_admin.adapters.accounts import AccountRepository
from bitloot_admin.adapters.audit import AuditEntry
from bitloot_admin.domain.lockout import AccountState, LoginOutcome, attempt
from bitloot_admin.domain.passwords import (
    hash_password,
    needs_rehash,
    rehash,
    verify_password,
)

logger = logging.getLogger(__name__)

Sessions = async_sessionmaker[AsyncSession]

# argon2id holds 19 MiB for each hash it computes (domain.passwords): one thread computes
# them all, so a burst of logins waits in turn rather than holding 19 MiB each.
_hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="argon2")


async def create_admin(sessionmaker: Sessions, username: str, password: str) -> bool:
    """Create `username` or reset its password (lifting any lock); True if created."""
    password_hash = await asyncio.get_running_loop().run_in_executor(
        _hasher, hash_password, password
    )
    async with sessionmaker() as session, session.begin():
        repository = AccountRepository(session)
        created = await repository.upsert(username, password_hash)
        action = "admin_created" if created else "admin_password_set"
        await repository.audit(username, action, {"via": "cli"})
    return created


async def ensure_initial_admin(sessionmaker: Sessions, username: str, password: str) -> None:
    """Create the configured first admin, only while no admin exists at all."""
    async with sessionmaker() as session, session.begin():
        if await AccountRepository(session).any_exists():
            return
    await create_admin(sessionmaker, username, password)
    logger.info("initial admin created", extra={"username": username})


async def login(sessionmaker: Sessions, username: str, password: str) -> LoginOutcome:
    """Check one login attempt, count failures, lock after too many, audit the outcome."""
    async with sessionmaker() as session, session.begin():
        repository = AccountRepository(session)
        account = await repository.get_for_update(username)
        stored = account.password_hash if account else None
        password_ok = await asyncio.get_running_loop().run_in_executor(
            _hasher, verify_password, stored, password
        )
        if account is None:
            outcome, state = LoginOutcome.REJECTED, AccountState(0, None)
        else:
            outcome, state = attempt(account.state, password_ok, datetime.now(UTC))
            await repository.save_state(username, state)
            if outcome is LoginOutcome.ACCEPTED and needs_rehash(account.password_hash):
                await _rehash(repository, username, password)
        await repository.audit(
            username,
            f"login_{outcome.value}",
            {"known": account is not None, "locked": state.locked_until is not None},
            outcome="ok" if outcome is LoginOutcome.ACCEPTED else outcome.value,
        )
    logger.info("admin login", extra={"username": username, "outcome": outcome.value})
    return outcome


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
