"""Paying approved refunds out through NOWPayments, exactly once.

The discipline is the gateway's for Kinguin purchases: the payout row, carrying the
``unique_external_id`` NOWPayments will be asked with, is committed (and the refund moved
to `sending`, its event in the outbox) before NOWPayments is called. Then:

- an answer: the payout's ids and status are recorded;
- a refusal (`PayoutRefused`: surely nothing created): the payout is `refused` and the
  refund `failed` with NOWPayments' reason; only an admin's re-approval pays it again,
  under a new attempt id;
- no answer (`PayoutUncertain`, or a crash): the row stays `requesting`. Once no call of
  ours can still be under way (`lookup_after`), the payout is looked up at NOWPayments by
  our id first, and adopted if found; only if NOWPayments does not have it is it asked
  for again, with the same id.

Payout statuses then come from payout IPNs (stored at the edge, applied here) and from
asking NOWPayments about a payout not final after `poll_after`. Finished: the refund is
`sent` with the transaction hash; failed or rejected: `failed` with NOWPayments' error.
Each refund change is emitted once, under the refund's lock, in the same transaction.
"""

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bitloot_payments.adapters.ipn_signature import parse
from bitloot_payments.adapters.payouts import (
    NowPaymentsPayouts,
    Payout,
    PayoutRefused,
    PayoutRequest,
    PayoutUncertain,
)
from bitloot_payments.domain.payout import (
    FINAL,
    RANKS,
    REFUSED,
    REQUESTING,
    advances,
    external_id,
    payout_amount,
    refund_status_after,
)
from bitloot_payments.handlers.ports import PaymentsWork, PayoutRow, RefundToPay
from bitloot_payments.handlers.refunds import emit_refund
from bitloot_runtime.logging import log_context
from bitloot_runtime.worker import Worker

logger = logging.getLogger(__name__)

POLLED = frozenset(status for status in RANKS if status not in FINAL and status != REQUESTING)


class PayoutRunner:
    """Starts, resolves, polls and updates payouts: at once when its `worker` is woken (a refund
    approved, a payout IPN stored), every `poll_interval` otherwise."""

    def __init__(
        self,
        unit_of_work: Callable[[], PaymentsWork],
        client: NowPaymentsPayouts,
        *,
        ipn_callback_url: str | None,
        poll_after: timedelta,
        lookup_after: timedelta,
        poll_interval: float = 5.0,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._client = client
        self._callback_url = ipn_callback_url
        self._poll_after = poll_after
        self._lookup_after = lookup_after
        # A pass that fails (NOWPayments or the database away) is logged and the work
        # tried again after a poll interval: every row it left is still there.
        self.worker = Worker("payout-runner", self, interval=poll_interval)

    async def __call__(self) -> int:
        """Everything due now: stored IPNs, approved refunds, payouts whose answer never
        came, payouts to ask about. How many were handled."""
        count = 0
        for step in (self._apply_ipn, self._start, self._resolve, self._poll):
            while await step():
                count += 1
        return count

    async def _start(self) -> bool:
        """Pay the oldest approved refund: commit its payout row, then ask NOWPayments."""
        async with self._unit_of_work() as uow:
            refund = await uow.payouts.claim_approved_refund()
            if refund is None:
                return False
            with log_context(order_id=str(refund.order_id)):
                if not refund.payout_address:
                    # Approval needs a claim; without an address there is nothing to pay to.
                    error = "no_payout_address: the refund was approved without a claim"
                    moved = await uow.refunds.move(refund.id, "failed", error=error)
                    await emit_refund(uow, moved, refund.status, refund.email, error)
                    await uow.commit()
                    return True
                attempt = await uow.payouts.next_attempt(refund.id)
                uid = external_id(refund.id, attempt)
                amount = payout_amount(refund.amount)
                row = await uow.payouts.insert(refund, attempt, uid, amount)
                moved = await uow.refunds.move(refund.id, "sending")
                await emit_refund(uow, moved, refund.status, refund.email)
                await uow.commit()
                logger.info("payout recorded", extra={"refund_id": refund.id, "payout": uid})
        await self._request(row, refund)
        return True

    async def _resolve(self) -> bool:
        """A payout whose answer never came: find it at NOWPayments by our id and adopt
        it; ask for it again, with the same id, only if NOWPayments does not have it."""
        row = await self._claim(frozenset({REQUESTING}), self._lookup_after)
        if row is None:
            return False
        found = await self._client.find(row.unique_external_id, created_after=row.created_at)
        if found is None:
            logger.warning("payout not found at NOWPayments; asking again", extra=_ids(row))
            await self._request(row, None)
        else:
            logger.info("payout found at NOWPayments; adopted", extra=_ids(row))
            await self._record(row.id, await self._client.verify(found))
        return True

    async def _poll(self) -> bool:
        """Ask NOWPayments about a payout not final `poll_after` after its last news."""
        row = await self._claim(POLLED, self._poll_after)
        if row is None:
            return False
        if row.batch_id is None:
            raise PayoutUncertain(f"Payout {row.unique_external_id} has no batch id to ask by.")
        report = await self._client.verify(await self._client.get(row.batch_id))
        await self._record(row.id, report)
        return True

    async def _apply_ipn(self) -> bool:
        """Apply the oldest stored payout IPN (authenticated at the edge)."""
        async with self._unit_of_work() as uow:
            pending = await uow.payouts.claim_pending_ipn()
            if pending is None:
                return False
            ipn_id, body = pending
            report = Payout.from_json(parse(body))
            row = await uow.payouts.lock_by_provider_id(report.id)
            if row is None:
                # Its create answer was lost: resolving the payout adopts it, polling
                # then tells its status.
                result = "unknown_payout"
            else:
                result = await self._apply(uow, row, report)
            await uow.payouts.mark_ipn(ipn_id, result)
            await uow.commit()
        logger.info("payout IPN applied", extra={"ipn_id": ipn_id, "result": result})
        return True

    async def _claim(self, statuses: frozenset[str], after: timedelta) -> PayoutRow | None:
        """A payout in `statuses` untouched for `after`, touched (so that no other pass
        takes it before `after` again)."""
        async with self._unit_of_work() as uow:
            since = datetime.now(UTC) - after
            row = await uow.payouts.claim(statuses, since)
            if row is not None:
                await uow.payouts.update(row.id)
                await uow.commit()
        return row

    async def _request(self, row: PayoutRow, refund: RefundToPay | None) -> None:
        request = PayoutRequest(
            unique_external_id=row.unique_external_id,
            address=row.address,
            extra_id=row.extra_id,
            currency=row.currency,
            amount=row.amount,
            ipn_callback_url=self._callback_url,
        )
        try:
            report = await self._client.create(request)
        except PayoutRefused as refused:
            await self._refused(row, refused)
        except PayoutUncertain as unknown:
            logger.warning(
                "payout outcome unknown; it is looked up later",
                extra={**_ids(row), "error": str(unknown)},
            )
        else:
            await self._record(row.id, report)

    async def _refused(self, row: PayoutRow, refused: PayoutRefused) -> None:
        reason = f"{refused.code}: {refused}"
        logger.warning("payout refused by NOWPayments", extra={**_ids(row), "error": reason})
        report = Payout(row.unique_external_id, None, None, REFUSED, None, reason, row.amount, "")
        async with self._unit_of_work() as uow:
            current = await uow.payouts.lock(row.id)
            if current.status == REQUESTING:
                await uow.payouts.update(row.id, status=REFUSED, error=reason)
                await self._settle(uow, current, report)
            await uow.commit()

    async def _record(self, payout_id: int, report: Payout) -> None:
        async with self._unit_of_work() as uow:
            row = await uow.payouts.lock(payout_id)
            if row.provider_payout_id is None:
                await uow.payouts.update(
                    row.id, provider_payout_id=report.id, batch_id=report.batch_id
                )
            result = await self._apply(uow, row, report)
            await uow.commit()
        logger.info("payout status", extra={**_ids(row), "status": report.status, "result": result})

    async def _apply(self, uow: PaymentsWork, row: PayoutRow, report: Payout) -> str:
        """Move the payout (locked) forward to what `report` says; settle the refund if
        that is final. ``applied``, or ``stale`` for a report that is not news."""
        if not advances(row.status, report.status):
            return "stale"
        values = {"status": report.status, "hash": report.hash, "error": report.error}
        await uow.payouts.update(row.id, **values)
        await self._settle(uow, row, report)
        return "applied"

    async def _settle(self, uow: PaymentsWork, row: PayoutRow, report: Payout) -> None:
        status = refund_status_after(report.status)
        if status is None:
            return
        refund = await uow.payouts.lock_refund(row.refund_id)
        if refund.status != "sending":
            return
        if status == "sent":
            moved = await uow.refunds.move(refund.id, status, transaction_id=report.hash)
            await emit_refund(uow, moved, refund.status, refund.email)
        else:
            error = report.error or f"payout {report.status}"
            moved = await uow.refunds.move(refund.id, status, error=error)
            await emit_refund(uow, moved, refund.status, refund.email, error)
        logger.info("refund settled", extra={**_ids(row), "refund_status": status})


def _ids(row: PayoutRow) -> dict[str, object]:
    return {"refund_id": row.refund_id, "payout": row.unique_external_id}
