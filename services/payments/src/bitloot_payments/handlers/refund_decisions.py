"""An admin's decision on a refund (through the internal API; the admin service audits
who did what): approve a claimed refund (or one whose payout failed) for the payout
runner, reject one with a note, or record it refunded outside BitLoot with a note.

Each decision runs in one transaction holding the order's row, then the refund's (the
order the bus handlers take them in): two admins deciding at once take turns, and the
second is refused by the status the first left. Each emits one ``refund.status_changed``.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bitloot_payments.domain import refunds as rules
from bitloot_payments.domain.records import Refund
from bitloot_payments.handlers.ports import PaymentsWork
from bitloot_payments.handlers.refunds import emit_refund
from bitloot_runtime.errors import BitlootError
from bitloot_runtime.logging import log_context

logger = logging.getLogger(__name__)


class RefundNotFound(BitlootError):
    """No such refund."""


@dataclass(frozen=True)
class Decision:
    """Who decides what, and why (`transaction_id` only for money sent outside BitLoot)."""

    status: str
    actor: str
    note: str | None = None
    transaction_id: str | None = None


def _check(decision: Decision, current: str) -> None:
    if decision.status == rules.APPROVED:
        rules.check_approve(current)
    elif decision.status == rules.REJECTED:
        rules.check_reject(current, decision.note)
    else:
        rules.check_refunded_outside(current, decision.note)


class DecideRefund:
    """Approve, reject, refunded outside; an approval `wake`s the payout runner so the
    payout starts at once rather than at its next poll."""

    def __init__(
        self, unit_of_work: Callable[[], PaymentsWork], wake: Callable[[], None] = lambda: None
    ) -> None:
        self._unit_of_work = unit_of_work
        self._wake = wake

    async def __call__(self, refund_id: int, decision: Decision) -> Refund:
        """The refund after `decision`; `RefundNotFound`, or `rules.RefundRefused` with
        a reason (nothing changed)."""
        note = (decision.note or "").strip() or None
        async with self._unit_of_work() as uow:
            known = await uow.refunds.load(refund_id)
            if known is None:
                raise RefundNotFound(f"No refund {refund_id}.")
            with log_context(order_id=str(known.order_id)):
                order = await uow.orders.load(known.order_id, lock=True)
                refund = await uow.refunds.load(refund_id, lock=True)
                assert order is not None  # a refund references its order
                assert refund is not None
                _check(decision, refund.status)
                moved = await uow.refunds.move(
                    refund_id,
                    decision.status,
                    decided_by=decision.actor,
                    decided_at=datetime.now(UTC),
                    decision_note=note,
                    **(
                        {"transaction_id": decision.transaction_id}
                        if decision.transaction_id
                        else {}
                    ),
                )
                new_status = rules.order_status_after(
                    decision.status, order.status, whole_order=refund.flag_id is None
                )
                if new_status != order.status:
                    await uow.orders.set_status(order.order_id, new_status)
                await emit_refund(uow, moved, refund.status, order.email, note)
                await uow.commit()
                logger.info(
                    "refund decided",
                    extra={
                        "refund_id": refund_id,
                        "status": decision.status,
                        "previous_status": refund.status,
                        "actor": decision.actor,
                    },
                )
        if moved.status == rules.APPROVED:
            self._wake()
        return moved
