"""An admin's decision on a flag (`domain.flags`), and re-applying an IPN given up on.

Each decision runs in one transaction holding the flag's row, then the order's: two
admins deciding at once take turns, and the second finds the flag resolved. Accepting
pays the order and queues ``payment.finished`` in that same transaction, so an order is
paid (and fulfilled) exactly once however often the button is pressed.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from uuid import UUID

from bitloot_payments.domain import Coded
from bitloot_payments.domain.flags import (
    ACCEPT,
    DISMISS,
    REFUND_DUE,
    RESOLVED_AS,
    allowed,
    money_status,
)
from bitloot_payments.domain.flags import refundable as refundable_amount
from bitloot_payments.domain.records import (
    ERROR,
    OPEN,
    PENDING,
    Flag,
    LoggedIpn,
    Refund,
    order_state,
)
from bitloot_payments.handlers.apply_ipn import emit_payment_finished
from bitloot_payments.handlers.ports import PaymentsWork
from bitloot_payments.handlers.refunds import emit_refund
from bitloot_runtime.errors import BitlootError
from bitloot_runtime.logging import log_context

logger = logging.getLogger(__name__)


class NotFound(BitlootError):
    """No such flag or IPN."""


class Refused(Coded, BitlootError):
    """The decision cannot be taken; `code` says why (machine-readable)."""


@dataclass(frozen=True)
class Decided:
    """The flag as it now stands, the order's status after the decision, and the refund
    recorded (its id) if any."""

    flag: Flag
    order_status: str | None
    refund_id: int | None = None


class DecideFlag:
    """Accept and fulfil, refund due, dismiss."""

    def __init__(self, unit_of_work: Callable[[], PaymentsWork]) -> None:
        self._unit_of_work = unit_of_work

    async def __call__(self, flag_id: int, decision: str, actor: str, note: str | None) -> Decided:
        """Take `decision` (``accept``, ``refund_due``, ``dismiss``) on the flag for
        `actor`; `NotFound`, or `Refused` with a reason."""
        if decision == DISMISS and not (note and note.strip()):
            raise Refused("note_required", "Say why the flag is dismissed.")
        async with self._unit_of_work() as uow:
            flag = await uow.flags.load(flag_id, lock=True)
            if flag is None:
                raise NotFound(f"No flag {flag_id}.")
            with log_context(order_id=str(flag.order_id) if flag.order_id else None):
                decided = await self._decide(uow, flag, decision, actor, note)
                await uow.commit()
                logger.info(
                    "flag resolved",
                    extra={"flag_id": flag_id, "decision": decision, "actor": actor},
                )
        return decided

    async def _decide(
        self, uow: PaymentsWork, flag: Flag, decision: str, actor: str, note: str | None
    ) -> Decided:
        if flag.status != OPEN:
            raise Refused(
                "flag_resolved",
                f"Flag {flag.id} was already resolved ({flag.status}) by {flag.resolved_by}.",
            )
        order = await uow.orders.load(flag.order_id, lock=True) if flag.order_id else None
        status = order.status if order else None
        if decision not in allowed(flag.kind, flag.data, status):
            raise Refused(
                f"cannot_{decision}",
                f"A {flag.kind} flag on an order in status {status} cannot be resolved "
                f"with {decision}.",
            )
        refund_id = None
        if decision == ACCEPT and order is not None and flag.payment_id is not None:
            payment = await uow.payments.load(flag.payment_id)
            paid = replace(
                order_state(order),
                status="paid",
                payment_id=flag.payment_id,
                payment_status=money_status(payment.seen) if payment else None,
                closed_at=None,
            )
            await uow.orders.save_state(paid)
            await emit_payment_finished(uow, order, flag.payment_id)
            status = "paid"
        elif decision == REFUND_DUE and order is not None:
            refund_id, status = await self._refund_due(uow, flag, order.order_id, status, actor)
        await uow.flags.resolve(flag.id, RESOLVED_AS[decision], actor, note)
        resolved = await uow.flags.load(flag.id)
        assert resolved is not None
        return Decided(resolved, status, refund_id)

    async def _refund_due(
        self, uow: PaymentsWork, flag: Flag, order_id: UUID, status: str | None, actor: str
    ) -> tuple[int, str | None]:
        owed = refundable_amount(flag.kind, flag.data)
        assert owed is not None  # `allowed` offers refund_due only when it is known
        amount, currency = owed
        refund = Refund(order_id, amount, currency, flag.kind, actor, flag.payment_id, flag.id)
        refund_id = await uow.refunds.add(refund)
        order = await uow.orders.load(order_id)
        assert order is not None  # locked by `_decide`
        if order.status != "paid":
            # Nothing was delivered for this money: the whole order is now a refund.
            await uow.orders.save_state(replace(order_state(order), status="refund_due"))
            status = "refund_due"
        # Delivery tells the customer and sends the claim link, as for a failed order.
        await emit_refund(uow, replace(refund, id=refund_id), None, order.email)
        return refund_id, status


class ReplayIpn:
    """Re-applying an IPN given up on, which `wake`s the IPN processor."""

    def __init__(self, unit_of_work: Callable[[], PaymentsWork], wake: Callable[[], None]) -> None:
        self._unit_of_work = unit_of_work
        self._wake = wake

    async def __call__(self, ipn_id: int, actor: str) -> tuple[LoggedIpn, bool]:
        """Put an IPN given up as ``error`` back in the queue (its processing_error flags
        resolved as ``replayed``); the IPN and whether it was put back. Replaying one that
        is already waiting changes nothing; one that was applied is `Refused`."""
        async with self._unit_of_work() as uow:
            ipn = await uow.ipns.load(ipn_id, lock=True)
            if ipn is None:
                raise NotFound(f"No IPN {ipn_id}.")
            if ipn.result == PENDING:
                return ipn, False
            if ipn.result != ERROR:
                raise Refused(
                    "ipn_not_failed",
                    f"IPN {ipn_id} was applied ({ipn.result}); only one given up may be replayed.",
                )
            requeued = await uow.ipns.requeue(ipn_id, actor)
            await uow.flags.resolve_of_ipn(ipn_id, "processing_error", "replayed", actor)
            await uow.commit()
        assert requeued is not None
        logger.info("IPN replayed", extra={"ipn_id": ipn_id, "actor": actor})
        self._wake()
        return requeued, True
