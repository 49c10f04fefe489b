"""The outbox relay: publishes committed events, once the broker confirms them.

Rows are taken in id order with ``FOR UPDATE``, so several relays (one per service
instance) take turns: one that meets a row another holds waits for it to finish, then
skips what it published. They never publish the same row, and every consumer hears an
order's events in the order its steps queued them: with ``SKIP LOCKED`` a second relay
would publish the rows after a batch while the batch was still going out (the live
status page then ended on an older status than the order's). A relay that dies holding
a batch where the server cannot tell (its machine gone, a network cut with no reset) would
hold the others back for as long as its session lingers: a relay holding rows lets its
session be ended after `hold_limit` seconds idle in its transaction (longer than any
publish takes), and the others go on. A row is
stamped `published_at` in the transaction that locked it, after the broker confirmed it.
A crash after the confirm and before the commit publishes the row again on restart: that
is the at-least-once half of the contract, and the consumers' inbox is the other half.

The relay sleeps until PostgreSQL NOTIFYs it (asked by `UnitOfWork.emit`, delivered on
commit) or the poll interval passes, whichever comes first, so a lost notification only
delays an event.
"""

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from functools import partial

import asyncpg
from opentelemetry.trace import SpanKind
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bitloot_runtime import telemetry
from bitloot_runtime.db import OUTBOX_CHANNEL, UnitOfWork, asyncpg_dsn
from bitloot_runtime.dead_letters import summarize
from bitloot_runtime.metrics import RuntimeMetrics
from bitloot_runtime.publisher import BusPublisher
from bitloot_runtime.tables import inbox, outbox
from bitloot_runtime.worker import Worker, log_failure

logger = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(minutes=5)
PURGE_EVERY = 300.0
# Seconds a relay's transaction may sit idle holding its batch: a publish is bounded by
# PUBLISH_TIMEOUT (10 s), so only a relay gone without a word waits this long.
HOLD_LIMIT = 30.0
# The relay's statements as the driver prepares them (once per connection). The batch is
# stamped by one statement whatever its size: `id = ANY($1)`.
_DUE = (
    "SELECT id, event_id, topic, order_id, body, headers, attempts FROM outbox"
    " WHERE published_at IS NULL AND next_attempt_at <= now()"
    " ORDER BY id LIMIT $1 FOR UPDATE"
)
_STAMP = "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])"
_POSTPONE = (
    "UPDATE outbox SET attempts = $2, next_attempt_at = now() + $3, last_error = $4 WHERE id = $1"
)


class OutboxRelay:
    """Moves outbox rows to the bus. `run()` forever in the service; `relay_once()` in tests."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        database_url: str,
        publisher: BusPublisher,
        metrics: RuntimeMetrics,
        batch_size: int = 100,
        poll_interval: float = 1.0,
        outbox_retention: timedelta = timedelta(days=7),
        inbox_retention: timedelta = timedelta(days=30),
        hold_limit: float = HOLD_LIMIT,
    ) -> None:
        self._engine = engine
        # SET takes no parameters: a whole number of milliseconds, from a float we hold.
        self._hold = f"SET LOCAL idle_in_transaction_session_timeout = {round(hold_limit * 1000)}"
        self._publisher = publisher
        self._metrics = metrics
        self._batch_size = batch_size
        self._outbox_retention = outbox_retention
        self._inbox_retention = inbox_retention
        self._last_purge = float("-inf")
        self.worker = Worker(
            "relay",
            self._pass,
            interval=poll_interval,
            listen=(asyncpg_dsn(database_url), OUTBOX_CHANNEL),
            log=partial(log_failure, logger, "outbox relay failed; retrying at the next poll"),
        )

    async def run(self) -> None:
        """Relay until cancelled: on every NOTIFY, every poll interval, and now at start."""
        await self.worker.run()

    async def relay_once(self) -> int:
        """Publish up to one batch of due rows; the number published.

        The whole batch is published at once, its confirms awaited together (one round
        trip to the broker for the batch rather than one per row); the rows the broker
        confirmed are stamped, in the transaction that locked them, and those it refused
        are postponed. When nothing in the batch was confirmed, the broker is most likely
        away rather than refusing each row: only the first row is postponed then, so an
        outage does not age the backoff of every waiting row.
        """
        async with UnitOfWork(self._engine) as uow:
            driver = await uow.driver()
            rows = await driver.fetch(_DUE, self._batch_size)
            if not rows:
                return 0
            await driver.execute(self._hold)
            outcomes = await asyncio.gather(
                *(self._publish(row) for row in rows), return_exceptions=True
            )
            published: list[int] = []
            refused: list[tuple[asyncpg.Record, Exception]] = []
            for row, outcome in zip(rows, outcomes, strict=True):
                if outcome is None:
                    published.append(row["id"])
                elif isinstance(outcome, Exception):
                    refused.append((row, outcome))
                else:
                    raise outcome  # cancelled: the rows stay due, nothing is stamped
            if published:
                await driver.execute(_STAMP, published)
            for row, error in refused if published else refused[:1]:
                await self._postpone(driver, row, error)
            await uow.commit()
        return len(published)

    async def purge(self) -> tuple[int, int]:
        """Delete published outbox rows and inbox rows past their retention."""
        now = datetime.now(UTC)
        async with self._engine.begin() as connection:
            outbox_rows = await connection.execute(
                delete(outbox).where(
                    outbox.c.published_at.is_not(None),
                    outbox.c.published_at < now - self._outbox_retention,
                )
            )
            inbox_rows = await connection.execute(
                delete(inbox).where(inbox.c.processed_at < now - self._inbox_retention)
            )
        return outbox_rows.rowcount, inbox_rows.rowcount

    async def overdue(self) -> float:
        """How many seconds the longest-waiting *due* row has waited for the relay (0 when
        none is due). A working relay keeps this near its poll interval however many rows
        wait; it grows while publishes hang (a blocked broker) or no relay runs. Rows
        postponed after a failed publish count only once due again, so a single poison
        row, or the backoff left over from an outage that has ended, does not hold it up."""
        async with self._engine.connect() as connection:
            due_since = await connection.scalar(
                select(func.min(outbox.c.next_attempt_at)).where(
                    outbox.c.published_at.is_(None), outbox.c.next_attempt_at <= func.now()
                )
            )
        return (datetime.now(UTC) - due_since).total_seconds() if due_since else 0.0

    async def refresh_metrics(self) -> None:
        """Set the pending-rows and lag gauges from the table (called on each scrape)."""
        async with self._engine.connect() as connection:
            pending, oldest = (
                await connection.execute(
                    select(func.count(), func.min(outbox.c.created_at)).where(
                        outbox.c.published_at.is_(None)
                    )
                )
            ).one()
        self._metrics.outbox_pending.set(pending)
        lag = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
        self._metrics.outbox_lag_seconds.set(lag)

    async def _pass(self) -> bool:
        """Publish a batch; once the due rows are out (never ahead of the events that woke
        the relay), clean up every `PURGE_EVERY` seconds."""
        if await self.relay_once() == self._batch_size:
            return True
        if time.monotonic() - self._last_purge > PURGE_EVERY:
            await self._purge_safely()
            self._last_purge = time.monotonic()
        return False

    async def _publish(self, row: asyncpg.Record) -> None:
        order_id = str(row["order_id"]) if row["order_id"] else None
        headers = row["headers"]
        publish = partial(
            self._publisher.publish_event,
            topic=row["topic"],
            body=row["body"],
            message_id=str(row["event_id"]),
            order_id=order_id,
        )
        if not telemetry.enabled():
            await publish(headers=headers)
            return
        # In the trace of what emitted the event, as its child: the gap before this span
        # is the time the event waited in the outbox; the consumers' spans are its children.
        attributes = {
            "messaging.system": "rabbitmq",
            "messaging.operation": "publish",
            "messaging.destination.name": row["topic"],
            "messaging.message.id": str(row["event_id"]),
        }
        if order_id:
            attributes["bitloot.order_id"] = order_id
        with telemetry.continued(
            headers.get("traceparent"), f"{row['topic']} publish", SpanKind.PRODUCER, attributes
        ):
            await publish(headers=telemetry.with_traceparent(headers))

    async def _postpone(
        self, driver: "asyncpg.Connection[asyncpg.Record]", row: asyncpg.Record, error: Exception
    ) -> None:
        attempts = int(row["attempts"]) + 1
        backoff = min(timedelta(seconds=2**attempts), MAX_BACKOFF)
        logger.warning(
            "outbox row not published; will retry",
            extra={
                "event_id": str(row["event_id"]),
                "topic": row["topic"],
                "attempts": attempts,
                "error": summarize(error),
                "order_id": str(row["order_id"]),
            },
        )
        await driver.execute(_POSTPONE, row["id"], attempts, backoff, summarize(error))

    async def _purge_safely(self) -> None:
        try:
            outbox_rows, inbox_rows = await self.purge()
        except Exception as exc:
            log_failure(logger, "outbox/inbox clean-up failed", exc)
            return
        if outbox_rows or inbox_rows:
            logger.info("purged", extra={"outbox_rows": outbox_rows, "inbox_rows": inbox_rows})
