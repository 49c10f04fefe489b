"""Applying stored IPNs to their payments, after NOWPayments has had its answer.

Pending IPNs are claimed with ``FOR UPDATE SKIP LOCKED`` (several instances may run), up
to `BATCH` at a time, and applied in one transaction, each with its order and payment
locked (`apply_ipn`): the new states, the events (through the outbox), any flags and the
IPNs' results commit together, so a crash leaves them pending and they are applied on the
next pass. One that fails undoes the batch, whose IPNs are then applied one by one.

NOWPayments has had its 200 by now and will not send the IPN again, so an attempt that
fails must never lose it. A transient failure (connection lost, statement cancelled,
deadlock, the database restarting) is retried with a growing delay for as long as it
takes. Any other failure is retried the same way, and only when the IPN has failed the
same way `max_attempts` times in a row is it given up as ``error``, with a
``processing_error`` flag for an admin, who can re-apply it once the defect is fixed.
"""

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from decimal import Decimal

from bitloot_payments.domain.ipn_retry import DEFECT, TRANSIENT, IpnRetry, defects_after
from bitloot_payments.domain.records import Flag, LoggedIpn, Processed
from bitloot_payments.handlers.apply_ipn import Applied, ApplyIpn
from bitloot_payments.handlers.edge_load import EdgeLoad
from bitloot_payments.handlers.ports import PaymentsWork
from bitloot_payments.metrics import PaymentsMetrics
from bitloot_runtime.db import is_transient
from bitloot_runtime.dead_letters import summarize
from bitloot_runtime.logging import log_context
from bitloot_runtime.telemetry import NO_SPAN, continued, enabled
from bitloot_runtime.worker import Worker

logger = logging.getLogger(__name__)

QUIET_RESULTS = frozenset({"duplicate", "stale"})
# IPNs applied together in one transaction: one claim, one result statement and one commit
# for all of them instead of one each. Small enough that the orders it locks are not held
# for long (a batch is a few milliseconds of work).
BATCH = 32
# The longest the processor gives way to a busy edge before its next batch (`EdgeLoad`).
PATIENCE = 1.0


class IpnProcessor:
    """Applies pending IPNs: at once when woken by the edge or the reconciler, every
    `poll_interval` otherwise (IPNs stored by another instance, left by a crash, or
    waiting for a retry); each batch once `load` says the edge is not busy."""

    def __init__(
        self,
        unit_of_work: Callable[[], PaymentsWork],
        load: EdgeLoad | None = None,
        poll_interval: float = 1.0,
        retry: IpnRetry | None = None,
        metrics: PaymentsMetrics | None = None,
        tolerance_percent: Decimal = Decimal(0),
    ) -> None:
        self._unit_of_work = unit_of_work
        self._load = load or EdgeLoad()
        self._retry = retry or IpnRetry()
        self._metrics = metrics
        self._apply = ApplyIpn(tolerance_percent)
        # A pass that fails (the database restarting, say) is logged and tried again
        # after a poll interval: the IPNs it left pending are still there, and nothing
        # else would ever apply them.
        self.worker = Worker("ipn-processor", self.drain, interval=poll_interval)

    def wake(self) -> None:
        self.worker.wake()

    async def run(self) -> None:
        """Process until cancelled."""
        await self.worker.run()

    async def drain(self) -> int:
        """Process every pending IPN that is due; how many were attempted."""
        count = 0
        while True:
            await self._load.quiet(at_most=PATIENCE)
            attempted = await self.process_batch()
            if not attempted:
                return count
            count += attempted

    async def process_batch(self, limit: int = BATCH) -> int:
        """Apply up to `limit` of the oldest due pending IPNs in one transaction (each
        with its order and payment locked), their results written and committed with
        their effects; how many were attempted.

        If one of several fails, the whole transaction is rolled back (nothing of any of
        them is kept) and each is attempted again alone, so that only the failing one
        records its failure (`_failed`) and the others are applied."""
        async with self._unit_of_work() as uow:
            claimed = await uow.ipns.claim_due(limit)
            if not claimed:
                return 0
            applied: list[tuple[LoggedIpn, Applied]] = []
            try:
                for ipn in claimed:
                    with (
                        _in_its_trace(ipn),
                        log_context(order_id=str(ipn.order_id) if ipn.order_id else None),
                    ):
                        applied.append((ipn, await self._apply(uow, ipn)))
                done = [_processed(*each) for each in applied]
                await uow.ipns.mark_processed(done)
                await uow.commit()
            except Exception as error:
                await uow.rollback()
                if len(claimed) == 1:
                    [alone] = claimed
                    with log_context(order_id=str(alone.order_id) if alone.order_id else None):
                        await self._failed(alone, error)
                    return 1
                applied = []
        if not applied:
            logger.info(
                "an IPN of a batch failed; applying them one by one",
                extra={"ipn_ids": [ipn.id for ipn in claimed]},
            )
            for _ in claimed:
                await self.process_batch(1)
            return len(claimed)
        for ipn, outcome in applied:
            with log_context(order_id=str(ipn.order_id) if ipn.order_id else None):
                self._done(ipn, outcome)
        return len(claimed)

    def _done(self, ipn: LoggedIpn, applied: Applied) -> None:
        self._count(ipn, applied.result)
        # Repeats are most of the traffic and change nothing: not worth a line each.
        level = logging.DEBUG if applied.result in QUIET_RESULTS else logging.INFO
        logger.log(
            level,
            "IPN processed",
            extra={"ipn_id": ipn.id, "result": applied.result, "source": ipn.source},
        )

    def _count(self, ipn: LoggedIpn, result: str) -> None:
        if self._metrics is not None and ipn.source == "poll" and result == "paid":
            self._metrics.recovered_by_poll.inc()

    async def _failed(self, ipn: LoggedIpn, error: Exception) -> None:
        """Record a failed attempt: retry later, or give up on a repeated defect. If even
        that cannot be written (the database is away), the IPN simply stays pending and
        due, and the next pass tries it again."""
        # The first line only: SQLAlchemy appends the statement and its parameters.
        summary = summarize(error).split("\n", 1)[0]
        transient = is_transient(error)
        defects = ipn.defects if transient else defects_after(ipn.last_error, ipn.defects, summary)
        give_up = not transient and defects >= self._retry.max_attempts
        retry_in = None if give_up else self._retry.delay(ipn.retries + 1)
        extra = {"ipn_id": ipn.id, "error": summary, "attempt": ipn.retries + 1}
        if give_up:
            logger.error("IPN given up after repeated failures", exc_info=error, extra=extra)
        elif transient:
            logger.warning("IPN processing failed for a transient reason; retrying", extra=extra)
        else:
            logger.warning("IPN processing failed; retrying", exc_info=error, extra=extra)
        if self._metrics is not None:
            self._metrics.ipn_failures.labels(kind="transient" if transient else "defect").inc()
        last_error = (TRANSIENT if transient else DEFECT) + summary
        async with self._unit_of_work() as uow:
            await uow.ipns.record_failure(ipn.id, last_error, defects, retry_in)
            if give_up:
                detail = (
                    f"Processing the IPN failed {defects} times in a row ({summary}); "
                    "fix the cause, then replay the IPN."
                )
                flag = Flag("processing_error", detail, ipn.order_id, ipn.payment_id, ipn.id)
                await uow.flags.add(flag)
            await uow.commit()


def _in_its_trace(ipn: LoggedIpn) -> AbstractContextManager[object]:
    """Applying `ipn` in a span of the trace it was received in (the IPN request's), so
    that the events it causes carry that trace on; `NO_SPAN` when tracing is off (no
    attributes built, no generator entered, per IPN)."""
    if not enabled():
        return NO_SPAN
    attributes = {"bitloot.ipn_source": ipn.source}
    if ipn.order_id:
        attributes["bitloot.order_id"] = str(ipn.order_id)
    return continued(ipn.traceparent, "ipn apply", attributes=attributes)


def _processed(ipn: LoggedIpn, applied: Applied) -> Processed:
    """The result to record for `ipn`: its order is recorded when the processor found it
    and the IPN did not name it (a re-deposit names only its parent payment)."""
    order_id = applied.order.order_id if applied.order else None
    linked = order_id if order_id != ipn.order_id else None
    return Processed(ipn.id, applied.result, applied.duplicate, linked)
