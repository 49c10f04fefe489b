"""Refunds the bus makes due or cancels, each in the consumer's unit of work (inbox,
state and outbox in one transaction, so a redelivered event has no second effect):

- ``order.failed`` for a paid order, and ``keys.revoked``: the order's money is owed back
  (the amount and currency the payment actually brought), the order is ``refund_due``
  and ``refund.status_changed(due)`` is emitted. At most one such refund per order and
  reason (a unique index), however often the event is told.
- ``order.status_changed`` to ``fulfilled`` after all: a failed order's refund that is
  only due or claimed is canceled; one an admin already let money move for raises a
  ``fulfilled_after_refund`` flag (`domain.refunds.on_fulfilled`).

Every status change of a refund emits exactly one `RefundStatusChanged` (`emit_refund`).
"""

import logging
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from bitloot_contracts.events import DeliveryCompleted, KeysRevoked, OrderFailed
from bitloot_contracts.events.refund import RefundStatusChanged
from bitloot_payments.domain import refunds as rules
from bitloot_payments.domain.flags import FULFILLED_AFTER_REFUND, REFUND_AMOUNT_UNKNOWN
from bitloot_payments.domain.records import Flag, Order, Refund
from bitloot_payments.handlers.ports import PaymentsWork

logger = logging.getLogger(__name__)


async def emit_refund(
    uow: PaymentsWork, refund: Refund, previous: str | None, email: str, note: str | None = None
) -> None:
    """Queue the `RefundStatusChanged` of `refund` as it now stands (in this transaction)."""
    await uow.emit(
        RefundStatusChanged(
            order_id=refund.order_id,
            refund_id=refund.id,
            status=rules.as_status(refund.status),
            previous_status=rules.as_status(previous) if previous else None,
            reason=refund.reason,
            cause=refund.cause,
            amount=refund.amount.normalize(),
            currency=refund.currency.lower(),
            customer_email=email,
            transaction_id=refund.transaction_id,
            note=note or None,
        )
    )


class RefundFailedOrder:
    """``order.failed``: the saga gave the order up; if it was paid, its money is owed back."""

    async def __call__(self, event: OrderFailed, uow: PaymentsWork) -> None:
        await _whole_order_refund(
            uow, event.order_id, rules.ORDER_FAILED, event.occurred_at, cause=event.stage
        )


class RefundRevokedKeys:
    """``keys.revoked``: an admin refunds an order whose keys were never revealed."""

    async def __call__(self, event: KeysRevoked, uow: PaymentsWork) -> None:
        await _whole_order_refund(
            uow,
            event.order_id,
            rules.KEYS_UNREVEALED,
            event.occurred_at,
            requested_by=event.revoked_by[:128],
            note=event.note,
        )


class RecordKeyEmail:
    """``delivery.completed``: whether the key email went out, for the customer status."""

    async def __call__(self, event: DeliveryCompleted, uow: PaymentsWork) -> None:
        if not await uow.orders.record_key_email(event.order_id, event.email_sent):
            # Nothing changed, and the consumer's own line already records the message.
            logger.debug("delivery of an unknown order ignored")


async def _whole_order_refund(
    uow: PaymentsWork,
    order_id: UUID,
    reason: str,
    at: datetime,
    *,
    cause: str | None = None,
    requested_by: str = "system",
    note: str | None = None,
) -> None:
    order = await uow.orders.load(order_id, lock=True)
    if order is None or order.paid_at is None or order.payment_id is None:
        logger.info("nothing owed: the order was never paid", extra={"reason": reason})
        return
    if reason == rules.ORDER_FAILED and _fulfilled_since(order, at):
        logger.info("order failure older than its fulfilment ignored")
        return
    owed = await _paid(uow, order)
    if owed is None:
        await _flag_unknown_amount(uow, order, reason)
        return
    paid, currency = owed
    earlier = await uow.refunds.of_order(order_id)
    amount = rules.still_owed(
        paid,
        currency,
        [(r.amount, r.currency, r.status) for r in earlier if r.payment_id == order.payment_id],
    )
    if amount <= 0:
        logger.info("nothing owed: the payment was already refunded", extra={"reason": reason})
        return
    refund = Refund(
        order_id, amount, currency, reason, requested_by, order.payment_id, cause=cause, note=note
    )
    refund_id = await uow.refunds.add_whole_order(refund)
    if refund_id is None:
        logger.info("refund already recorded", extra={"reason": reason})
        return
    if order.status == "paid":
        await uow.orders.set_status(order_id, "refund_due")
    await emit_refund(uow, replace(refund, id=refund_id), None, order.email)
    logger.info(
        "refund due",
        extra={
            "refund_id": refund_id,
            "reason": reason,
            "amount": str(amount),
            "currency": currency,
        },
    )


def _fulfilled_since(order: Order, at: datetime) -> bool:
    """Whether the saga's latest known state is a fulfilment later than `at`."""
    return (
        order.fulfilment_state == "fulfilled"
        and order.fulfilment_at is not None
        and order.fulfilment_at > at
    )


async def _paid(uow: PaymentsWork, order: Order) -> tuple[Decimal, str] | None:
    """What the order's payment actually brought, in the currency it was paid in; None
    when unknown (then an admin must say, nothing is guessed)."""
    assert order.payment_id is not None
    payment = await uow.payments.load(order.payment_id)
    if payment is None or payment.actually_paid is None or not payment.pay_currency:
        return None
    if payment.actually_paid <= 0:
        return None
    return payment.actually_paid, payment.pay_currency.lower()


async def _flag_unknown_amount(uow: PaymentsWork, order: Order, reason: str) -> None:
    detail = (
        f"A refund is due ({reason}) but the amount the payment actually brought is unknown: "
        "decide it by hand."
    )
    await uow.flags.add(
        Flag(
            REFUND_AMOUNT_UNKNOWN, detail, order.order_id, order.payment_id, data={"reason": reason}
        ),
    )
    logger.warning("refund due but its amount is unknown; flagged", extra={"reason": reason})


async def order_fulfilled(uow: PaymentsWork, order_id: UUID) -> None:
    """The order was fulfilled after all: cancel or flag its failed-order refund. The
    caller holds the order's row (its update of the order locked it), and every refund is
    recorded under that lock, so this statement sees them all. Most orders have none: the
    fulfilment's own statement says so (`record_fulfilled`), and then this is not called."""
    owed = await uow.refunds.of_order(order_id, lock=True)
    order = await uow.orders.load(order_id, lock=True) if owed else None
    if order is None:
        return
    for refund in owed:
        late = rules.on_fulfilled(refund.reason, refund.status)
        if late.cancel:
            canceled = await uow.refunds.move(refund.id, rules.CANCELED)
            new_status = rules.order_status_after(rules.CANCELED, order.status, whole_order=True)
            if new_status != order.status:
                await uow.orders.set_status(order_id, new_status)
            note = "The order was fulfilled after all."
            await emit_refund(uow, canceled, refund.status, order.email, note)
            logger.info(
                "refund canceled: order fulfilled after all", extra={"refund_id": refund.id}
            )
        elif late.flag:
            await _flag_late_fulfilment(uow, order, refund)


async def _flag_late_fulfilment(uow: PaymentsWork, order: Order, refund: Refund) -> None:
    """One open flag per refund: the keys came, and money went (or may go) back too."""
    known = await uow.flags.of_order(order.order_id, FULFILLED_AFTER_REFUND)
    if any(flag.data.get("refund_id") == str(refund.id) for flag in known):
        return
    detail = (
        f"The order was fulfilled after its refund {refund.id} was {refund.status}: the "
        "customer may have both the keys and the money."
    )
    data: dict[str, str | None] = {"refund_id": str(refund.id), "refund_status": refund.status}
    flag = Flag(FULFILLED_AFTER_REFUND, detail, order.order_id, order.payment_id, data=data)
    await uow.flags.add(flag)
    logger.warning(
        "order fulfilled after its refund moved money; flagged",
        extra={"refund_id": refund.id, "refund_status": refund.status},
    )
