"""Admin accounts and the audit of what admins did, in the admin database."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from pydantic import JsonValue
from sqlalchemy import delete, exists, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert

from bitloot_admin.adapters import audit
from bitloot_admin.adapters.audit import AuditEntry
from bitloot_admin.adapters.orm import admin_recovery_codes, admin_revoked_sessions, admins
from bitloot_admin.domain.lockout import AccountState
from bitloot_admin.domain.roles import Role


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


@dataclass(frozen=True)
class Standing:
    """What a request's session is worth now: the account's role and whether it may act."""

    role: Role
    disabled: bool
    generation: int
    has_totp: bool
    revoked: bool


async def standing(session: AsyncSession, username: str, session_id: UUID) -> Standing | None:
    """The account a session names and whether that session was logged out, in one
    query (the primary keys of both tables); None if no such admin."""
    revoked = exists().where(admin_revoked_sessions.c.session_id == session_id)
    row = (
        await session.execute(
            select(
                admins.c.role,
                admins.c.disabled_at,
                admins.c.session_generation,
                admins.c.totp_secret,
                revoked.label("revoked"),
            ).where(admins.c.username == username)
        )
    ).first()
    if row is None:
        return None
    return Standing(
        Role.named(row.role),
        row.disabled_at is not None,
        row.session_generation,
        row.totp_secret is not None,
        bool(row.revoked),
    )


class AccountRepository:
    """Reads and writes `admins` and `admin_audit` in the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get_for_update(self, username: str) -> Account | None:
        """The account, locked until the transaction ends so that concurrent wrong
        passwords are all counted."""
        row = (
            await self._session.execute(
                select(admins).where(admins.c.username == username).with_for_update()
            )
        ).first()
        if row is None:
            return None
        state = AccountState(failed_logins=row.failed_logins, locked_until=row.locked_until)
        return Account(
            row.username,
            row.password_hash,
            state,
            Role.named(row.role),
            row.disabled_at is not None,
            row.session_generation,
            row.totp_secret,
            row.totp_pending_secret,
            row.totp_last_step,
        )

    async def save_state(self, username: str, state: AccountState) -> None:
        await self._session.execute(
            update(admins)
            .where(admins.c.username == username)
            .values(failed_logins=state.failed_logins, locked_until=state.locked_until)
        )

    async def upsert(self, username: str, password_hash: str, role: Role | None) -> bool:
        """Create the account (`role`, viewer if None) or set its password, which also
        lifts a lock and ends every session it had, and its role if given; True if new."""
        changes: dict[str, object] = {
            "password_hash": password_hash,
            "failed_logins": 0,
            "locked_until": None,
            "session_generation": admins.c.session_generation + 1,
        }
        if role is not None:
            changes["role"] = role.label
        statement: ReturningInsert[tuple[bool]] = (
            pg_insert(admins)
            .values(
                username=username,
                password_hash=password_hash,
                role=(role or Role.VIEWER).label,
            )
            .on_conflict_do_update(index_elements=[admins.c.username], set_=changes)
            # A row inserted now has xmax 0; an updated one carries the updating transaction.
            .returning(literal_column("xmax = 0"))
        )
        return bool((await self._session.execute(statement)).scalar_one())

    async def set_password_hash(self, username: str, password_hash: str) -> None:
        """Replace the hash alone (the same password, hashed anew): no lock is lifted."""
        await self._session.execute(
            update(admins).where(admins.c.username == username).values(password_hash=password_hash)
        )

    async def change(self, username: str, **values: object) -> bool:
        """Set `values` on the account; False if there is no such admin."""
        result = await self._session.execute(
            update(admins).where(admins.c.username == username).values(**values)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def end_sessions(self, username: str, **values: object) -> bool:
        """Set `values` and end every session the account has (password, disabling)."""
        return await self.change(
            username, session_generation=admins.c.session_generation + 1, **values
        )

    async def revoke_session(self, session_id: UUID, expires_at: datetime, now: datetime) -> None:
        """Refuse this session from now on; forget the revoked sessions that expired."""
        await self._session.execute(
            pg_insert(admin_revoked_sessions)
            .values(session_id=session_id, expires_at=expires_at)
            .on_conflict_do_nothing()
        )
        await self._session.execute(
            delete(admin_revoked_sessions).where(admin_revoked_sessions.c.expires_at < now)
        )

    async def replace_recovery_codes(self, username: str, hashes: list[str]) -> None:
        await self._session.execute(
            delete(admin_recovery_codes).where(admin_recovery_codes.c.username == username)
        )
        if hashes:
            await self._session.execute(
                admin_recovery_codes.insert(),
                [{"username": username, "code_hash": digest} for digest in hashes],
            )

    async def use_recovery_code(self, username: str, digest: str) -> bool:
        """Spend a recovery code: True if it was the admin's and unused."""
        result = await self._session.execute(
            delete(admin_recovery_codes).where(
                admin_recovery_codes.c.username == username,
                admin_recovery_codes.c.code_hash == digest,
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def recovery_codes_left(self, username: str) -> int:
        rows = await self._session.execute(
            select(admin_recovery_codes.c.code_hash).where(
                admin_recovery_codes.c.username == username
            )
        )
        return len(rows.all())

    async def any_exists(self) -> bool:
        return (await self._session.execute(select(admins.c.username).limit(1))).first() is not None

    async def audit(
        self, username: str, action: str, detail: dict[str, JsonValue], outcome: str = "ok"
    ) -> None:
        entry = AuditEntry(username, action, target=username, outcome=outcome, detail=detail)
        await audit.write(self._session, entry)
