"""The admin's unit of work: one transaction, and the repositories that work inside it."""

from functools import cached_property

from bitloot_admin.adapters.accounts import SqlAccounts
from bitloot_admin.adapters.activity import SqlOrderActivity
from bitloot_admin.adapters.audit import SqlAuditLog
from bitloot_admin.adapters.throttle import SqlLoginThrottle
from bitloot_runtime.db import UnitOfWork


class AdminUnitOfWork(UnitOfWork):
    """`handlers.ports.AdminWork` on PostgreSQL; each repository is built on first use,
    inside the block, on this unit's connection."""

    @cached_property
    def audit(self) -> SqlAuditLog:
        return SqlAuditLog(self.session)

    @cached_property
    def activity(self) -> SqlOrderActivity:
        return SqlOrderActivity(self.session)

    @cached_property
    def accounts(self) -> SqlAccounts:
        return SqlAccounts(self.session)

    @cached_property
    def throttle(self) -> SqlLoginThrottle:
        return SqlLoginThrottle(self.session)
