"""The payments unit of work: one transaction, and the repositories working in it."""

from collections.abc import Mapping, Sequence

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bitloot_payments.adapters.availability import SqlAvailabilities
from bitloot_payments.adapters.flags import SqlFlags
from bitloot_payments.adapters.ipn_log import SqlIpnLog
from bitloot_payments.adapters.orders import SqlOrders
from bitloot_payments.adapters.payments import SqlPayments
from bitloot_payments.adapters.refunds import SqlRefunds
from bitloot_runtime.db import EventObserver, UnitOfWork


class PaymentsUnitOfWork(UnitOfWork):
    """`handlers.ports.PaymentsWork` on PostgreSQL. The repositories are built with the
    unit (a few small objects, no I/O), so the hot path pays no lookup for them."""

    def __init__(
        self,
        source: AsyncEngine | async_sessionmaker[AsyncSession],
        observers: Mapping[str, Sequence[EventObserver]] | None = None,
    ) -> None:
        super().__init__(source, observers)
        self.orders = SqlOrders(self)
        self.payments = SqlPayments(self)
        self.flags = SqlFlags(self)
        self.ipns = SqlIpnLog(self)
        self.refunds = SqlRefunds(self)
        self.availability = SqlAvailabilities(self)

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
