"""Reconciling orders against NOWPayments' own record, for IPNs that are lost or late.

A background loop beside the IPN processor (several instances may run: orders are
claimed with ``FOR UPDATE SKIP LOCKED`` and leased). For each order due
(`domain.reconcile`), NOWPayments is asked about its open payments, or about its
invoice's payments; each status we had not heard is stored in the IPN log with source
``poll`` and applied by the same processor, with the same rules and flags as an IPN.
"""

import json
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from pydantic import JsonValue

from bitloot_payments.adapters.nowpayments import (
    NowPaymentsClient,
    NowPaymentsRejected,
    NowPaymentsUnavailable,
)
from bitloot_payments.domain.reconcile import (
    KnownPayment,
    Questions,
    ReconcilePolicy,
    is_news,
    questions,
)
from bitloot_payments.domain.records import PENDING, IpnEntry
from bitloot_payments.handlers.ports import DueOrder, PaymentsWork
from bitloot_payments.handlers.receive_ipn import claims
from bitloot_payments.metrics import PaymentsMetrics
from bitloot_runtime.logging import log_context
from bitloot_runtime.worker import Worker

logger = logging.getLogger(__name__)

BATCH = 20
LEASE = timedelta(minutes=2)
Document = dict[str, JsonValue]


class Reconciler:
    """Asks NOWPayments about every order due a reconciliation, every `interval` seconds;
    `wake` is the IPN processor's, called when there is something new to apply."""

    def __init__(
        self,
        unit_of_work: Callable[[], PaymentsWork],
        nowpayments: NowPaymentsClient,
        policy: ReconcilePolicy,
        wake: Callable[[], None],
        metrics: PaymentsMetrics,
        interval: float = 10.0,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._nowpayments = nowpayments
        self._policy = policy
        self._wake = wake
        self._metrics = metrics
        self.worker = Worker("reconciler", self._pass, interval=interval)
        if not nowpayments.can_list:
            logger.warning(
                "no NOWPayments account credentials: an invoice whose every IPN was lost "
                "cannot be found (set PAYMENTS_NOWPAYMENTS_EMAIL and _PASSWORD)"
            )

    async def _pass(self) -> bool:
        return await self() == BATCH

    async def __call__(self) -> int:
        """Reconcile the orders due now (at most one batch); how many."""
        async with self._unit_of_work() as uow:
            due = await uow.reconciliation.claim_due(BATCH, LEASE)
            await uow.commit()
        for order in due:
            with log_context(order_id=str(order.order_id)):
                await self._reconcile(order)
        return len(due)

    async def _reconcile(self, order: DueOrder) -> None:
        async with self._unit_of_work() as uow:
            found = await uow.reconciliation.known_payments(order.order_id)
        known = {p.payment_id: p for p in found}
        asked = questions(order.status, known.values())
        outcome = "unchanged"
        if not asked.done:
            try:
                news = [d for d in await self._ask(order, asked) if is_news(d, known)]
            except (NowPaymentsUnavailable, NowPaymentsRejected) as exc:
                logger.warning("NOWPayments could not be asked", extra={"error": str(exc)})
                news, outcome = [], "failed"
            if news:
                await self._store(order, news)
                outcome = "changed"
        self._metrics.reconcile_polls.labels(outcome=outcome).inc()
        await self._reschedule(order, outcome)

    async def _ask(self, order: DueOrder, asked: Questions) -> list[Document]:
        found = [await self._nowpayments.payment(payment_id) for payment_id in asked.payments]
        if asked.list_invoice and order.invoice_id and self._nowpayments.can_list:
            found += await self._nowpayments.payments_of_invoice(order.invoice_id)
        return found

    async def _store(self, order: DueOrder, news: Iterable[Document]) -> None:
        async with self._unit_of_work() as uow:
            for document in news:
                payment_id, order_id, status = claims(document)
                body = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
                entry = IpnEntry(body, True, PENDING, payment_id, order_id, status, source="poll")
                await uow.ipns.add(entry)
                logger.info(
                    "NOWPayments knew a status we had not heard",
                    extra={"payment_id": payment_id, "payment_status": status},
                )
            await uow.commit()
        self._wake()

    async def _reschedule(self, order: DueOrder, outcome: str) -> None:
        now = datetime.now(UTC)
        async with self._unit_of_work() as uow:
            books = uow.reconciliation
            status = await books.order_status(order.order_id) or order.status
            known = await books.known_payments(order.order_id)
            if _finished_with(status, known) and outcome != "changed":
                await books.schedule(order.order_id, None)
            else:
                at = self._policy.next_check(order.invoiced_at, order.attempts, now)
                await books.schedule(order.order_id, at)
                if at is None and await books.expire_unpaid(order.order_id):
                    logger.info("invoice expired with no payment; order expired")
            await uow.commit()


def _finished_with(status: str, known: Iterable[KnownPayment]) -> bool:
    """Nothing left to ask NOWPayments about an order in `status` with `known` payments."""
    return questions(status, known).done
