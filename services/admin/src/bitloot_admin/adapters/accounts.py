"""Admin accounts, their recovery codes and revoked sessions, in the admin database."""

from datetime import datetime
from typing import Unpack
from uuid import UUID

from sqlalchemy import delete, exists, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import ReturningInsert

from bitloot_admin.adapters.orm import admin_recovery_codes, admin_revoked_sessions, admins
from bitloot_admin.domain.accounts import Account, AccountChange, Standing
from bitloot_admin.domain.lockout import AccountState
from bitloot_admin.domain.roles import Role
from bitloot_admin.handlers.ports import Accounts


class SqlAccounts(Accounts):
    def __init__(self, db: AsyncConnection) -> None:
        self._session = db

    async def standing(self, username: str, session_id: UUID) -> Standing | None:
        revoked = exists().where(admin_revoked_sessions.c.session_id == session_id)
        row = (
            await self._session.execute(
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

    async def get_for_update(self, username: str) -> Account | None:
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
        await self._session.execute(
            update(admins).where(admins.c.username == username).values(password_hash=password_hash)
        )

    async def change(
        self, username: str, *, ends_sessions: bool = False, **values: Unpack[AccountChange]
    ) -> bool:
        changes: dict[str, object] = dict(values)
        if ends_sessions:
            changes["session_generation"] = admins.c.session_generation + 1
        result = await self._session.execute(
            update(admins).where(admins.c.username == username).values(changes)
        )
        return bool(result.rowcount)

    async def revoke_session(self, session_id: UUID, expires_at: datetime, now: datetime) -> None:
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
        result = await self._session.execute(
            delete(admin_recovery_codes).where(
                admin_recovery_codes.c.username == username,
                admin_recovery_codes.c.code_hash == digest,
            )
        )
        return bool(result.rowcount)

    async def recovery_codes_left(self, username: str) -> int:
        rows = await self._session.execute(
            select(admin_recovery_codes.c.code_hash).where(
                admin_recovery_codes.c.username == username
            )
        )
        return len(rows.all())

    async def any_exists(self) -> bool:
        return (await self._session.execute(select(admins.c.username).limit(1))).first() is not None
