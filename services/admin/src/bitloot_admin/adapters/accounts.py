"""Admin accounts and the audit of what admins did, in the admin database."""

from dataclasses import dataclass

from pydantic import JsonValue
from sqlalchemy import literal_column, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import ReturningInsert

from bitloot_admin.adapters import audit
from bitloot_admin.adapters.audit import AuditEntry
from bitloot_admin.adapters.orm import admins
from bitloot_admin.domain.lockout import AccountState


@dataclass(frozen=True)
class Account:
    username: str
    password_hash: str
    state: AccountState


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
        return Account(row.username, row.password_hash, state)

    async def save_state(self, username: str, state: AccountState) -> None:
        await self._session.execute(
            update(admins)
            .where(admins.c.username == username)
            .values(failed_logins=state.failed_logins, locked_until=state.locked_until)
        )

    async def upsert(self, username: str, password_hash: str) -> bool:
        """Create the account or set its password (which also lifts a lock); True if new."""
        statement: ReturningInsert[tuple[bool]] = (
            pg_insert(admins)
            .values(username=username, password_hash=password_hash)
            .on_conflict_do_update(
                index_elements=[admins.c.username],
                set_={"password_hash": password_hash, "failed_logins": 0, "locked_until": None},
            )
            # A row inserted now has xmax 0; an updated one carries the updating transaction.
            .returning(literal_column("xmax = 0"))
        )
        return bool((await self._session.execute(statement)).scalar_one())

    async def set_password_hash(self, username: str, password_hash: str) -> None:
        """Replace the hash alone (the same password, hashed anew): no lock is lifted."""
        await self._session.execute(
            update(admins).where(admins.c.username == username).values(password_hash=password_hash)
        )

    async def any_exists(self) -> bool:
        return (await self._session.execute(select(admins.c.username).limit(1))).first() is not None

    async def audit(
        self, username: str, action: str, detail: dict[str, JsonValue], outcome: str = "ok"
    ) -> None:
        entry = AuditEntry(username, action, target=username, outcome=outcome, detail=detail)
        await audit.write(self._session, entry)
