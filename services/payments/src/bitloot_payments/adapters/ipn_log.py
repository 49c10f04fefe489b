"""Every IPN received, valid or not, with what was made of it.

An authentic IPN is stored `pending` (no `processed_at`) and answered at once; the IPN
processor claims pending rows with ``FOR UPDATE SKIP LOCKED`` and records its result. A
payment status polled from NOWPayments by the reconciler is stored the same way with
`source` ``poll``, so one processor applies both. An attempt that fails leaves the row
pending with `next_attempt_at` later; only a defect repeated on every attempt gives up
(result ``error``), and an admin may put such a row back (`requeue`).
"""

from datetime import timedelta
from uuid import UUID

from sqlalchemy import func, insert, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from bitloot_payments.adapters.orm import SqlRepository, by_key, ipn_log, newest
from bitloot_payments.domain.records import (
    ERROR,
    PENDING,
    IpnEntry,
    IpnFilter,
    LoggedIpn,
    Processed,
)
from bitloot_payments.handlers.ports import IpnLog

# The edge's one statement, on the driver (asyncpg prepares it once per connection), run
# on its own: PostgreSQL commits a lone statement as its own transaction, so the row is
# durable when `fetchval` returns, in one round trip instead of BEGIN, INSERT and COMMIT.
_RECEIVED = (
    "INSERT INTO ipn_log (raw_body, signature_valid, payment_id, order_id, status, duplicate,"
    " result, source, processed_at, traceparent) VALUES ($1, $2, $3, $4, $5, false, $6,"
    " 'ipn', CASE WHEN $6 = 'pending' THEN NULL ELSE now() END, $7) RETURNING id"  # PENDING
)


async def store_received(engine: AsyncEngine, entry: IpnEntry) -> int:
    """Store an IPN as the edge received it (`SqlIpnLog.add`'s row, committed on return) on a
    pooled connection, bypassing SQLAlchemy's statement layer: this is all the database
    work of answering NOWPayments. Its id. A failure is raised as SQLAlchemy's
    `DBAPIError` (answered 503 when transient, as any other), the connection discarded
    when it is broken."""
    async with engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        try:
            row_id = await driver.fetchval(
                _RECEIVED,
                entry.raw_body,
                entry.signature_valid,
                entry.payment_id,
                entry.order_id,
                entry.status,
                entry.result,
                entry.traceparent,
            )
        except Exception as error:
            # A server error leaves the connection usable (no transaction was open);
            # anything else (a lost connection, a timeout) may not have.
            broken = getattr(error, "sqlstate", None) is None or driver.is_closed()
            if broken:
                await connection.invalidate()
            raise DBAPIError(
                None, None, error, hide_parameters=True, connection_invalidated=broken
            ) from error
    return int(row_id)


_CLAIM_DUE = (
    "SELECT * FROM ipn_log WHERE processed_at IS NULL"
    " AND (next_attempt_at IS NULL OR next_attempt_at <= now())"
    " ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED"
)


# Every IPN of a batch marked in one statement (not one per IPN): its values as arrays.
_MARK = (
    "UPDATE ipn_log SET result = m.result, duplicate = m.duplicate, processed_at = now(),"
    " next_attempt_at = NULL, order_id = coalesce(m.order_id, ipn_log.order_id)"
    " FROM unnest($1::bigint[], $2::text[], $3::boolean[], $4::uuid[])"
    " AS m(id, result, duplicate, order_id) WHERE ipn_log.id = m.id"
)


class SqlIpnLog(SqlRepository, IpnLog):
    async def add(self, entry: IpnEntry) -> int:
        pending = entry.result == PENDING
        row_id = await self._uow.session.scalar(
            insert(ipn_log)
            .values(
                raw_body=entry.raw_body,
                signature_valid=entry.signature_valid,
                payment_id=entry.payment_id,
                order_id=entry.order_id,
                status=entry.status,
                duplicate=entry.duplicate,
                result=entry.result,
                source=entry.source,
                processed_at=None if pending else func.now(),
                traceparent=entry.traceparent,
            )
            .returning(ipn_log.c.id)
        )
        return int(row_id or 0)

    async def claim_due(self, limit: int) -> list[LoggedIpn]:
        return [
            LoggedIpn(**row) for row in await (await self._uow.driver()).fetch(_CLAIM_DUE, limit)
        ]

    async def mark_processed(self, processed: list[Processed]) -> None:
        if not processed:
            return
        await (await self._uow.driver()).execute(
            _MARK,
            [p.ipn_id for p in processed],
            [p.result for p in processed],
            [p.duplicate for p in processed],
            [p.order_id for p in processed],
        )

    async def record_failure(
        self, ipn_id: int, error: str, defects: int, retry_in: float | None
    ) -> None:
        values: dict[str, object] = {
            "retries": ipn_log.c.retries + 1,
            "defects": defects,
            "last_error": error,
        }
        if retry_in is None:
            values.update(result=ERROR, processed_at=func.now(), next_attempt_at=None)
        else:
            values["next_attempt_at"] = func.now() + timedelta(seconds=retry_in)
        await self._uow.session.execute(
            update(ipn_log).where(ipn_log.c.id == ipn_id).values(**values)
        )

    async def requeue(self, ipn_id: int, actor: str) -> LoggedIpn | None:
        """Only an ``error`` row changes: a second request finds it pending or applied."""
        await self._uow.session.execute(
            update(ipn_log)
            .where(ipn_log.c.id == ipn_id, ipn_log.c.result == ERROR)
            .values(
                result=PENDING,
                processed_at=None,
                next_attempt_at=None,
                defects=0,
                replayed_by=actor,
                replayed_at=func.now(),
            )
        )
        return await self.load(ipn_id)

    async def load(self, ipn_id: int, *, lock: bool = False) -> LoggedIpn | None:
        return await self._first(LoggedIpn, by_key(ipn_log.c.id, ipn_id, lock=lock))

    async def find(
        self, which: IpnFilter, *, limit: int, before_id: int | None = None
    ) -> list[LoggedIpn]:
        """Logged IPNs newest first, matching `which`, with ids below `before_id`."""
        statement = newest(
            ipn_log,
            limit,
            before_id,
            order_id=which.order_id,
            payment_id=which.payment_id,
            result=which.result,
            signature_valid=which.signature_valid,
            source=which.source,
        )
        if which.since is not None:
            statement = statement.where(ipn_log.c.received_at >= which.since)
        if which.until is not None:
            statement = statement.where(ipn_log.c.received_at < which.until)
        return await self._all(LoggedIpn, statement)

    async def of_order(self, order_id: UUID) -> list[LoggedIpn]:
        """An order's IPNs, oldest first."""
        newest_first = await self.find(IpnFilter(order_id=order_id), limit=1000)
        return newest_first[::-1]
