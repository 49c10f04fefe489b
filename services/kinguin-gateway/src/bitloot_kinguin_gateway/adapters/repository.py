"""Reading and writing reservations: plain SQL on the unit of work's asyncpg connection
for every statement of an order's way through the gateway; SQLAlchemy for the admin's
search, whose filter is built per call."""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import JsonValue
from sqlalchemy import select

from bitloot_kinguin_gateway.adapters.orm import reservations
from bitloot_kinguin_gateway.adapters.sql import SqlRepository, where_given
from bitloot_kinguin_gateway.domain.reservation import Attempt as Attempt
from bitloot_kinguin_gateway.domain.reservation import Reservation as Reservation
from bitloot_kinguin_gateway.domain.reservation import external_id
from bitloot_kinguin_gateway.handlers.ports import Reservations
from bitloot_runtime.telemetry import outgoing_traceparent


@dataclass(frozen=True)
class ReservationFilter:
    """What to list: every field given must match."""

    state: str | None = None
    order_id: UUID | None = None
    reservation_id: UUID | None = None


# Every column of `reservations`, in the order of `Reservation`'s fields.
# The statements below are put together from these constants only (hence the noqa).
_COLUMNS = (
    "order_id, reservation_id, state, lines, kinguin_order_id, kinguin_status,"
    " kinguin_updated_at, customer_email, failure_code, failure_reason, settled_at,"
    " keys_sealed_at, keys_count, attempt, created_at, updated_at"
)
_ATTEMPT_COLUMNS = "external_id, order_id, attempt, kinguin_order_id, kinguin_status"

# Every `updated_at` and step time is clock_timestamp(), not now(): the consumer's
# transaction began before the `placing` row was committed in a transaction of its own,
# and the timeline must show the steps in the order they happened.
_LOCK_ORDER = "SELECT pg_advisory_xact_lock(hashtext($1))"
# The reservation and its first external id, stamped (`_MARK_SENT`), in one statement
# when it is new.
_OPEN = (
    "WITH first_attempt AS ("  # noqa: S608 - constants only
    " INSERT INTO kinguin_orders (external_id, order_id, attempt, sent_at)"
    " VALUES ($2, $1, 1, clock_timestamp()) ON CONFLICT DO NOTHING RETURNING sent_at)"
    " INSERT INTO reservations (order_id, state, lines, traceparent)"
    " VALUES ($1, 'placing', $3, $4)"
    f" ON CONFLICT DO NOTHING RETURNING {_COLUMNS}, (SELECT sent_at FROM first_attempt)"
)
_SELECT = f"SELECT {_COLUMNS} FROM reservations"  # noqa: S608 - constants only
_GET = _SELECT + " WHERE order_id = $1"
_GET_FOR_UPDATE = _GET + " FOR UPDATE"
_BY_RESERVATION_ID = _SELECT + " WHERE reservation_id = $1"
_ATTEMPTS = (
    f"SELECT {_ATTEMPT_COLUMNS} FROM kinguin_orders"  # noqa: S608 - constants only
    " WHERE order_id = $1 ORDER BY attempt"
)
_LATEST_ATTEMPT = "SELECT max(attempt) FROM kinguin_orders WHERE order_id = $1"
_MARK_SENT = (
    "UPDATE kinguin_orders SET sent_at = clock_timestamp() WHERE external_id = $1 RETURNING sent_at"
)
_UNSTAMP = "UPDATE kinguin_orders SET sent_at = NULL WHERE external_id = $1 AND sent_at = $2"
# Seconds until a purchase under the external id is surely over (0: none can be on).
_IN_FLIGHT = (
    "SELECT greatest(0, extract(epoch FROM sent_at + make_interval(secs => $2)"
    " - clock_timestamp()))::float FROM kinguin_orders WHERE external_id = $1"
)
# A new external id, made the current attempt, `placing` with nothing known about it.
_START_ATTEMPT = (
    "WITH recorded AS ("  # noqa: S608 - constants only
    " INSERT INTO kinguin_orders (external_id, order_id, attempt) VALUES ($2, $1, $3))"
    " UPDATE reservations SET state = 'placing', attempt = $3, kinguin_order_id = NULL,"
    " kinguin_status = NULL, kinguin_updated_at = NULL, failure_code = NULL,"
    " failure_reason = NULL, settled_at = NULL, updated_at = clock_timestamp()"
    f" WHERE order_id = $1 RETURNING {_COLUMNS}"
)
# The attempt of a Kinguin order, by its id or else by our external id; and the order's
# reservation, locked, by the Kinguin order id or else by the attempt's order or else by
# `$3` (the external id read as our order id). Each look-up is a seek on its own unique
# index (a coalesce of scalar sub-queries: an OR of the two would let the planner scan).
_LOCATE = (
    f"WITH attempt AS (SELECT {_ATTEMPT_COLUMNS} FROM kinguin_orders"  # noqa: S608 - constants only
    " WHERE external_id = coalesce("
    "(SELECT external_id FROM kinguin_orders WHERE kinguin_order_id = $1), $2)),"
    f" reservation AS (SELECT {_COLUMNS}, traceparent FROM reservations"
    " WHERE order_id = coalesce("
    "(SELECT order_id FROM reservations WHERE kinguin_order_id = $1),"
    " (SELECT order_id FROM attempt), $3) FOR UPDATE)"
    " SELECT (SELECT to_jsonb(found) FROM attempt AS found) AS of_attempt,"
    f" reservation.traceparent, {_COLUMNS}"
    " FROM (SELECT) AS one LEFT JOIN reservation ON true"
)
_RECORD_ATTEMPT_STATUS = (
    "UPDATE kinguin_orders SET kinguin_order_id = coalesce(kinguin_order_id, $2),"
    " kinguin_status = $3 WHERE external_id = $1"
)
_PLACED = (
    "UPDATE reservations SET state = 'placed', kinguin_order_id = $2,"
    " settled_at = clock_timestamp(), failure_code = NULL, failure_reason = NULL,"
    " updated_at = clock_timestamp(),"
)
# Bought by the current attempt; a webhook may already have recorded a later status.
# The attempt's row in the same statement (one round trip per order).
_MARK_PLACED = (
    f"WITH placed AS ({_PLACED} kinguin_status = coalesce(kinguin_status, $3)"  # noqa: S608 - constants only
    " WHERE order_id = $1 RETURNING attempt)"
    " UPDATE kinguin_orders SET kinguin_order_id = coalesce(kinguin_order_id, $2),"
    " kinguin_status = $3"
    " WHERE order_id = $1 AND attempt = (SELECT attempt FROM placed)"
)
# Bought by an earlier attempt found live, which becomes the current one again.
_MARK_PLACED_BY = (
    f"WITH placed AS ({_PLACED} kinguin_status = $3, attempt = $4 WHERE order_id = $1)"  # noqa: S608 - constants only
    " UPDATE kinguin_orders SET kinguin_order_id = coalesce(kinguin_order_id, $2),"
    " kinguin_status = $3 WHERE external_id = $5"
)
_MARK_FAILED = (
    "UPDATE reservations SET state = 'failed', failure_code = $2, failure_reason = $3,"
    " settled_at = clock_timestamp(), updated_at = clock_timestamp() WHERE order_id = $1"
)
# Both rows in one statement (one round trip per webhook); `$4` None keeps the time.
_RECORD_STATUS = (
    "WITH recorded AS (UPDATE reservations"
    " SET kinguin_order_id = coalesce(kinguin_order_id, $2), kinguin_status = $3,"
    " kinguin_updated_at = coalesce($4, kinguin_updated_at), updated_at = clock_timestamp()"
    " WHERE order_id = $1)"
    " UPDATE kinguin_orders SET kinguin_status = $3 WHERE kinguin_order_id = $2"
)
_RECORD_KEYS = (
    "UPDATE reservations SET keys_sealed_at = clock_timestamp(), keys_count = $2,"
    " customer_email = $3, updated_at = clock_timestamp() WHERE order_id = $1"
)


class ReservationRepository(SqlRepository, Reservations):
    async def lock_order(self, order_id: UUID) -> None:
        await self._execute(_LOCK_ORDER, f"reservation:{order_id}")

    async def open(
        self, order_id: UUID, lines: list[dict[str, JsonValue]]
    ) -> tuple[Reservation, datetime | None]:
        row = await self._fetchrow(
            _OPEN, order_id, external_id(order_id, 1), json.dumps(lines), outgoing_traceparent()
        )
        if row is not None:
            *columns, stamp = row.values()
            return Reservation(*columns), stamp
        found = await self.get(order_id)
        assert found is not None  # inserted before, since it conflicted
        return found, None

    async def attempts(self, order_id: UUID) -> list[Attempt]:
        return [Attempt(**row) for row in await self._fetch(_ATTEMPTS, order_id)]

    async def start_attempt(self, order_id: UUID) -> Reservation:
        attempt = (await self._fetchval(_LATEST_ATTEMPT, order_id) or 1) + 1
        row = await self._fetchrow(
            _START_ATTEMPT, order_id, external_id(order_id, attempt), attempt
        )
        assert row is not None  # the caller holds the order's lock
        return _reservation(row)

    async def locate(
        self, kinguin_order_id: str | None, order_external_id: str | None, order_id: UUID | None
    ) -> tuple[Attempt | None, Reservation | None, str | None]:
        row = await self._fetchrow(
            _LOCATE, kinguin_order_id or None, order_external_id or None, order_id
        )
        assert row is not None  # one row, whatever was found
        attempt = None if row["of_attempt"] is None else _attempt(row["of_attempt"])
        reservation = None if row["order_id"] is None else _reservation(row, skip=2)
        return attempt, reservation, row["traceparent"]

    async def mark_sent(self, order_external_id: str) -> datetime:
        stamp: datetime = await self._fetchval(_MARK_SENT, order_external_id)
        return stamp

    async def unstamp(self, order_external_id: str, stamp: datetime) -> None:
        await self._execute(_UNSTAMP, order_external_id, stamp)

    async def in_flight(self, order_external_id: str, window: float) -> float:
        return float(await self._fetchval(_IN_FLIGHT, order_external_id, window) or 0)

    async def record_attempt_status(
        self, attempt: Attempt, kinguin_order_id: str, status: str
    ) -> None:
        await self._execute(_RECORD_ATTEMPT_STATUS, attempt.external_id, kinguin_order_id, status)

    async def get(self, order_id: UUID, *, for_update: bool = False) -> Reservation | None:
        row = await self._fetchrow(_GET_FOR_UPDATE if for_update else _GET, order_id)
        return None if row is None else _reservation(row)

    async def by_reservation_id(self, reservation_id: UUID) -> Reservation | None:
        row = await self._fetchrow(_BY_RESERVATION_ID, reservation_id)
        return None if row is None else _reservation(row)

    async def search(
        self, matching: ReservationFilter, *, limit: int, offset: int
    ) -> list[Reservation]:
        """Reservations matching `matching`, newest first."""
        # The reservation's own columns: the trace it was opened in is not part of it.
        query = select(*(reservations.c[name] for name in _COLUMNS.replace(" ", "").split(",")))
        query = where_given(
            query,
            (reservations.c.state, matching.state),
            (reservations.c.order_id, matching.order_id),
            (reservations.c.reservation_id, matching.reservation_id),
        ).order_by(reservations.c.created_at.desc(), reservations.c.order_id)
        rows = (await self._session.execute(query.limit(limit).offset(offset))).mappings()
        return [Reservation(**dict(row)) for row in rows]

    async def mark_placed(
        self, order_id: UUID, kinguin_order_id: str, status: str, *, attempt: Attempt | None = None
    ) -> None:
        if attempt is None:
            await self._execute(_MARK_PLACED, order_id, kinguin_order_id, status)
            return
        by = (attempt.attempt, attempt.external_id)
        await self._execute(_MARK_PLACED_BY, order_id, kinguin_order_id, status, *by)

    async def mark_failed(self, order_id: UUID, code: str, reason: str) -> None:
        await self._execute(_MARK_FAILED, order_id, code, reason)

    async def record_status(
        self, order_id: UUID, kinguin_order_id: str, status: str, at: datetime | None
    ) -> None:
        await self._execute(_RECORD_STATUS, order_id, kinguin_order_id, status, at)

    async def record_keys(self, order_id: UUID, count: int, email: str) -> None:
        await self._execute(_RECORD_KEYS, order_id, count, email)


def _reservation(row: Mapping[str, Any], *, skip: int = 0) -> Reservation:
    """A reservation from a row of `_COLUMNS` (after `skip` leading columns)."""
    return Reservation(*list(row.values())[skip:])


def _attempt(document: dict[str, Any]) -> Attempt:
    """An attempt from its row as JSON."""
    return Attempt(**{**document, "order_id": UUID(document["order_id"])})
