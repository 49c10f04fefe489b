"""What the admin's use cases need of its database: the repositories its unit of work
hands out (real: `adapters.unit_of_work`; in memory: the tests' fakes), in domain types."""

import abc
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol, Unpack
from uuid import UUID

from bitloot_admin.adapters.upstream import UpstreamClient
from bitloot_admin.domain.accounts import Account, AccountChange, Standing
from bitloot_admin.domain.audit import AuditEntry, AuditRecord
from bitloot_admin.domain.lockout import AccountState
from bitloot_admin.domain.refunds import Activity
from bitloot_admin.domain.roles import Role
from bitloot_admin.domain.throttle import Verdict
from bitloot_runtime.db import Work


class AuditLog(abc.ABC):
    @abc.abstractmethod
    async def add(self, entry: AuditEntry) -> None: ...

    @abc.abstractmethod
    async def recent(
        self, *, limit: int, before: int | None, username: str | None, action: str | None
    ) -> list[AuditRecord]:
        """The newest records first, older than id `before`, of one admin or action."""


class OrderActivity(abc.ABC):
    @abc.abstractmethod
    async def add(self, activity: Activity) -> bool:
        """Add `activity` unless its event is already recorded; True if it was new."""

    @abc.abstractmethod
    async def of_order(self, order_id: UUID) -> list[Activity]:
        """The recorded activity of one order, oldest first."""


class Accounts(abc.ABC):
    @abc.abstractmethod
    async def get_for_update(self, username: str) -> Account | None:
        """The account, locked until the transaction ends so that concurrent wrong
        passwords are all counted."""

    @abc.abstractmethod
    async def standing(self, username: str, session_id: UUID) -> Standing | None:
        """The account a session names and whether that session was logged out."""

    @abc.abstractmethod
    async def any_exists(self) -> bool: ...

    @abc.abstractmethod
    async def upsert(self, username: str, password_hash: str, role: Role | None) -> bool:
        """Create the account (`role`, viewer if None) or set its password, which also
        lifts a lock and ends every session it had, and its role if given; True if new."""

    @abc.abstractmethod
    async def save_state(self, username: str, state: AccountState) -> None: ...

    @abc.abstractmethod
    async def set_password_hash(self, username: str, password_hash: str) -> None:
        """Replace the hash alone (the same password, hashed anew): no lock is lifted."""

    @abc.abstractmethod
    async def change(
        self, username: str, *, ends_sessions: bool = False, **values: Unpack[AccountChange]
    ) -> bool:
        """Set `values` (and end every session the account has, if `ends_sessions`);
        False if there is no such admin."""

    @abc.abstractmethod
    async def revoke_session(self, session_id: UUID, expires_at: datetime, now: datetime) -> None:
        """Refuse this session from now on; forget the revoked sessions that expired."""

    @abc.abstractmethod
    async def replace_recovery_codes(self, username: str, hashes: list[str]) -> None: ...

    @abc.abstractmethod
    async def use_recovery_code(self, username: str, digest: str) -> bool:
        """Spend a recovery code: True if it was the admin's and unused."""

    @abc.abstractmethod
    async def recovery_codes_left(self, username: str) -> int: ...


class LoginThrottle(abc.ABC):
    @abc.abstractmethod
    async def count(self, key: str, now: datetime, limit: int, length: timedelta) -> Verdict:
        """Count an attempt for `key`; concurrent attempts on several instances are all
        counted (the key's row stays locked until the transaction ends)."""


class AdminWork(Work, Protocol):
    """The admin's unit of work: its transaction and the repositories inside it."""

    @property
    def audit(self) -> AuditLog: ...
    @property
    def activity(self) -> OrderActivity: ...
    @property
    def accounts(self) -> Accounts: ...
    @property
    def throttle(self) -> LoginThrottle: ...


class UsesWork:
    """A use case on the admin's database: each call opens its units of work."""

    def __init__(self, work: Callable[[], AdminWork]) -> None:
        self._work = work


class UsesUpstream:
    """A use case that asks the other services."""

    def __init__(self, upstream: UpstreamClient) -> None:
        self._upstream = upstream
