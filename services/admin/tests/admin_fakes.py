"""The admin's repositories in memory, subclassing the same ports as the real ones
(`bitloot_admin.handlers.ports`), for the handler tests of business rules.

One `FakeAdminWork` stands for the admin's database: every unit of work a handler opens
is that same object, and what a block did without `commit()` is undone when it ends,
as PostgreSQL would."""

import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self, Unpack
from uuid import UUID

from bitloot_admin.domain.accounts import Account, AccountChange, Standing
from bitloot_admin.domain.audit import AuditEntry, AuditRecord
from bitloot_admin.domain.lockout import AccountState
from bitloot_admin.domain.refunds import Activity
from bitloot_admin.domain.roles import Role
from bitloot_admin.domain.throttle import Verdict, Window, count_attempt
from bitloot_admin.handlers.ports import Accounts, AuditLog, LoginThrottle, OrderActivity
from bitloot_testing.fakes import FakeWork


class FakeAuditLog(AuditLog):
    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    async def add(self, entry: AuditEntry) -> None:
        at, detail = datetime.now(UTC), entry.detail or {}
        record = (entry.username, entry.action, entry.target, entry.outcome, detail)
        self.records.append(AuditRecord(len(self.records) + 1, at, *record))

    async def recent(
        self, *, limit: int, before: int | None, username: str | None, action: str | None
    ) -> list[AuditRecord]:
        return [
            r
            for r in reversed(self.records)
            if (before is None or r.id < before)
            and username in (None, r.username)
            and action in (None, r.action)
        ][:limit]

    def actions(self) -> list[str]:
        return [record.action for record in self.records]


class FakeOrderActivity(OrderActivity):
    def __init__(self) -> None:
        self.rows: dict[UUID, Activity] = {}

    async def add(self, activity: Activity) -> bool:
        return self.rows.setdefault(activity.event_id, activity) is activity

    async def of_order(self, order_id: UUID) -> list[Activity]:
        rows = [row for row in self.rows.values() if row.order_id == order_id]
        return sorted(rows, key=lambda row: (row.at, row.event_id))


class FakeAccounts(Accounts):
    """Accounts as the handlers see them, with their recovery codes and the revoked
    sessions (`change` takes the columns' names, as the real repository does)."""

    def __init__(self) -> None:
        self.rows: dict[str, Account] = {}
        self.codes: dict[str, set[str]] = {}
        self.revoked: dict[UUID, datetime] = {}

    async def get_for_update(self, username: str) -> Account | None:
        return self.rows.get(username)

    async def standing(self, username: str, session_id: UUID) -> Standing | None:
        if (row := self.rows.get(username)) is None:
            return None
        has_totp, revoked = row.totp_secret is not None, session_id in self.revoked
        return Standing(row.role, row.disabled, row.generation, has_totp, revoked)

    async def any_exists(self) -> bool:
        return bool(self.rows)

    async def upsert(self, username: str, password_hash: str, role: Role | None) -> bool:
        row = self.rows.get(username)
        if row is None:
            state, role = AccountState(0, None), role or Role.VIEWER
            account = Account(username, password_hash, state, role, False, 0, None, None, None)
            self.rows[username] = account
            return True
        self.rows[username] = replace(
            row,
            password_hash=password_hash,
            state=AccountState(0, None),
            role=role or row.role,
            generation=row.generation + 1,
        )
        return False

    async def save_state(self, username: str, state: AccountState) -> None:
        self.rows[username] = replace(self.rows[username], state=state)

    async def set_password_hash(self, username: str, password_hash: str) -> None:
        self.rows[username] = replace(self.rows[username], password_hash=password_hash)

    async def change(
        self, username: str, *, ends_sessions: bool = False, **values: Unpack[AccountChange]
    ) -> bool:
        if (row := self.rows.get(username)) is None:
            return False
        changes: dict[str, object] = dict(values)
        if "role" in values:
            changes["role"] = Role.named(values["role"])
        if "disabled_at" in values:
            changes["disabled"] = changes.pop("disabled_at") is not None
        generation = row.generation + (1 if ends_sessions else 0)
        self.rows[username] = replace(row, generation=generation, **changes)  # type: ignore[arg-type]
        return True

    async def revoke_session(self, session_id: UUID, expires_at: datetime, now: datetime) -> None:
        self.revoked[session_id] = expires_at
        self.revoked = {kept: at for kept, at in self.revoked.items() if at >= now}

    async def replace_recovery_codes(self, username: str, hashes: list[str]) -> None:
        self.codes[username] = set(hashes)

    async def use_recovery_code(self, username: str, digest: str) -> bool:
        codes = self.codes.get(username, set())
        found = digest in codes
        codes.discard(digest)
        return found

    async def recovery_codes_left(self, username: str) -> int:
        return len(self.codes.get(username, ()))


class FakeLoginThrottle(LoginThrottle):
    def __init__(self) -> None:
        self.windows: dict[str, Window] = {}

    async def count(self, key: str, now: datetime, limit: int, length: timedelta) -> Verdict:
        verdict = count_attempt(self.windows.get(key), now, limit, length)
        self.windows[key] = verdict.window
        return verdict


State = tuple[FakeAuditLog, FakeOrderActivity, FakeAccounts, FakeLoginThrottle]


class FakeAdminWork(FakeWork):
    """`AdminWork` in memory; `work` is its factory, for handlers that open their own."""

    def __init__(self) -> None:
        super().__init__()
        self.audit = FakeAuditLog()
        self.activity = FakeOrderActivity()
        self.accounts = FakeAccounts()
        self.throttle = FakeLoginThrottle()
        self._kept = self._state()

    def work(self) -> Self:
        return self

    async def given(self, username: str, **values: Unpack[AccountChange]) -> None:
        """Set `values` on the account `username`, committed (a test's set-up)."""
        async with self:
            await self.accounts.change(username, **values)
            await self.commit()

    def _state(self) -> State:
        return copy.deepcopy((self.audit, self.activity, self.accounts, self.throttle))

    async def commit(self) -> None:
        await super().commit()
        self._kept = self._state()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await super().__aexit__(exc_type, exc, traceback)
        self.audit, self.activity, self.accounts, self.throttle = copy.deepcopy(self._kept)
