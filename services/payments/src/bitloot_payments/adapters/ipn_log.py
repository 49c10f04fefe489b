"""Every IPN received, valid or not, with what was made of it.

An authentic IPN is stored `pending` (no `processed_at`) and answered at once; the IPN
processor claims pending rows with ``FOR UPDATE SKIP LOCKED`` and records its result. A
payment status polled from NOWPayments by the reconciler is stored the same way with
`source` ``poll``, so one processor applies both. An attempt that fails leaves the row
pending with `next_attempt_at` later; only a defect repeated on every attempt gives up
(result ``error``), and an admin may put such a row back (`requeue`).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bitloot_payments.adapters.orm import ipn_log

PENDING = "pending"
ERROR = "error"
SOURCES = ("ipn", "poll")


@dataclass(frozen=True)
class IpnEntry:
    """One IPN as received: `payment_id`, `order_id` and `status` as the body claims."""

    raw_body: bytes
    signature_valid: bool
    result: str
    payment_id: str | None = None
    order_id: UUID | None = None
    status: str | None = None
    duplicate: bool = False
    source: str = "ipn"
    # The trace it was received in, when tracing is on: applying it goes on in it.
    traceparent: str | None = None


@dataclass(frozen=True)
class LoggedIpn:
    """An IPN as logged; `processed_at` None while it waits for the processor."""

    id: int
    received_at: datetime
    signature_valid: bool
    payment_id: str | None
    order_id: UUID | None
    status: str | None
    duplicate: bool
    result: str
    processed_at: datetime | None
    raw_body: bytes
    source: str = "ipn"
    retries: int = 0
    defects: int = 0
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    replayed_by: str | None = None
    replayed_at: datetime | None = None
    traceparent: str | None = None


@dataclass(frozen=True)
class IpnFilter:
    """Which logged IPNs to list (each None: any)."""

    order_id: UUID | None = None
    payment_id: str | None = None
    result: str | None = None
    signature_valid: bool | None = None
    since: datetime | None = None
    until: datetime | None = None
    source: str | None = None


async def log_ipn(session: AsyncConnection, entry: IpnEntry) -> int:
    """Store `entry`; a result of `PENDING` leaves it for the processor. Its id."""
    pending = entry.result == PENDING
    row_id = await session.scalar(
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


# The edge's one statement, on the driver (asyncpg prepares it once per connection), run
# on its own: PostgreSQL commits a lone statement as its own transaction, so the row is
# durable when `fetchval` returns, in one round trip instead of BEGIN, INSERT and COMMIT.
_RECEIVED = (
    "INSERT INTO ipn_log (raw_body, signature_valid, payment_id, order_id, status, duplicate,"
    " result, source, processed_at, traceparent) VALUES ($1, $2, $3, $4, $5, false, $6,"
    " 'ipn', CASE WHEN $6 = 'pending' THEN NULL ELSE now() END, $7) RETURNING id"  # PENDING
)


async def store_received(engine: AsyncEngine, entry: IpnEntry) -> int:
    """Store an IPN as the edge received it (`log_ipn`'s row, committed on return) on a
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


async def claim_due(driver: "asyncpg.Connection[Any]", limit: int) -> list[LoggedIpn]:
    """Up to `limit` of the oldest pending IPNs that are due (not waiting for a retry) and
    that no other transaction holds, oldest first, locked until this one ends."""
    return [LoggedIpn(**row) for row in await driver.fetch(_CLAIM_DUE, limit)]


@dataclass(frozen=True)
class Processed:
    """An IPN's result; `order_id` when the processor linked it to its order (a
    re-deposit names only its parent payment)."""

    ipn_id: int
    result: str
    duplicate: bool
    order_id: UUID | None = None


# Every IPN of a batch marked in one statement (not one per IPN): its values as arrays.
_MARK = (
    "UPDATE ipn_log SET result = m.result, duplicate = m.duplicate, processed_at = now(),"
    " next_attempt_at = NULL, order_id = coalesce(m.order_id, ipn_log.order_id)"
    " FROM unnest($1::bigint[], $2::text[], $3::boolean[], $4::uuid[])"
    " AS m(id, result, duplicate, order_id) WHERE ipn_log.id = m.id"
)


async def mark_all_processed(driver: "asyncpg.Connection[Any]", processed: list[Processed]) -> None:
    """Each IPN's result, in one statement."""
    if not processed:
        return
    await driver.execute(
        _MARK,
        [p.ipn_id for p in processed],
        [p.result for p in processed],
        [p.duplicate for p in processed],
        [p.order_id for p in processed],
    )


async def record_failure(
    session: AsyncConnection, ipn_id: int, error: str, defects: int, retry_in: float | None
) -> None:
    """An attempt at the IPN failed with `error`: it stays pending until `retry_in`
    seconds from now, or (`retry_in` None) it is given up as ``error``."""
    values: dict[str, object] = {
        "retries": ipn_log.c.retries + 1,
        "defects": defects,
        "last_error": error,
    }
    if retry_in is None:
        values.update(result=ERROR, processed_at=func.now(), next_attempt_at=None)
    else:
        values["next_attempt_at"] = func.now() + timedelta(seconds=retry_in)
    await session.execute(update(ipn_log).where(ipn_log.c.id == ipn_id).values(**values))


async def requeue(session: AsyncConnection, ipn_id: int, actor: str) -> LoggedIpn | None:
    """Put an IPN given up as ``error`` back in the queue, for `actor`; the IPN as it now
    stands (None if there is no such IPN). Only an ``error`` row changes: a second request
    finds it pending or applied and changes nothing."""
    await session.execute(
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
    return await load_ipn(session, ipn_id)


async def load_ipn(
    session: AsyncConnection, ipn_id: int, *, lock: bool = False
) -> LoggedIpn | None:
    statement = select(ipn_log).where(ipn_log.c.id == ipn_id)
    if lock:
        statement = statement.with_for_update()
    row = (await session.execute(statement)).first()
    return LoggedIpn(**row._mapping) if row else None


async def list_ipns(
    session: AsyncConnection, which: IpnFilter, *, limit: int, before_id: int | None = None
) -> list[LoggedIpn]:
    """Logged IPNs newest first, matching `which`, with ids below `before_id`."""
    statement = select(ipn_log).order_by(ipn_log.c.id.desc()).limit(limit)
    conditions = {
        ipn_log.c.order_id: which.order_id,
        ipn_log.c.payment_id: which.payment_id,
        ipn_log.c.result: which.result,
        ipn_log.c.signature_valid: which.signature_valid,
        ipn_log.c.source: which.source,
    }
    for column, value in conditions.items():
        if value is not None:
            statement = statement.where(column == value)
    if which.since is not None:
        statement = statement.where(ipn_log.c.received_at >= which.since)
    if which.until is not None:
        statement = statement.where(ipn_log.c.received_at < which.until)
    if before_id is not None:
        statement = statement.where(ipn_log.c.id < before_id)
    return [LoggedIpn(**row._mapping) for row in await session.execute(statement)]


async def ipns_of(session: AsyncConnection, order_id: UUID) -> list[LoggedIpn]:
    """An order's IPNs, oldest first."""
    newest_first = await list_ipns(session, IpnFilter(order_id=order_id), limit=1000)
    return newest_first[::-1]
