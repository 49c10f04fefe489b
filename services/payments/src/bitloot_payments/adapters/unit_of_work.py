"""The payments unit of work: one transaction, and the repositories working in it."""

from functools import cached_property

from bitloot_payments.adapters.availability import SqlAvailabilities
from bitloot_payments.adapters.catalog import SqlCatalog
from bitloot_payments.adapters.flags import SqlFlags
from bitloot_payments.adapters.ipn_log import SqlIpnLog
from bitloot_payments.adapters.orders import SqlOrders
from bitloot_payments.adapters.payments import SqlPayments
from bitloot_payments.adapters.payout_rows import SqlPayouts
from bitloot_payments.adapters.rate_limits import SqlRateLimits
from bitloot_payments.adapters.reconciliation import SqlReconciliation
from bitloot_payments.adapters.refunds import SqlRefunds
from bitloot_payments.adapters.stats import SqlFigures
from bitloot_runtime.db import UnitOfWork


class PaymentsUnitOfWork(UnitOfWork):
    """`handlers.ports.PaymentsWork` on PostgreSQL: each repository is built on first use
    (no I/O), then read from the instance like any attribute."""

    orders = cached_property(SqlOrders)
    payments = cached_property(SqlPayments)
    flags = cached_property(SqlFlags)
    ipns = cached_property(SqlIpnLog)
    refunds = cached_property(SqlRefunds)
    availability = cached_property(SqlAvailabilities)
    catalog = cached_property(SqlCatalog)
    payouts = cached_property(SqlPayouts)
    reconciliation = cached_property(SqlReconciliation)
    rate_limits = cached_property(SqlRateLimits)
    figures = cached_property(SqlFigures)

    async def rollback(self) -> None:
        """Undo the transaction. A connection the failure broke (the database restarting,
        the backend killed) is discarded instead: the driver's errors do not tell
        SQLAlchemy it is broken, and a rollback on it would fail too (the server rolled it
        back already)."""
        raw = await self.session.get_raw_connection()
        driver = raw.driver_connection
        if driver is None or driver.is_closed():
            await self.session.invalidate()
        else:
            await self.session.rollback()
