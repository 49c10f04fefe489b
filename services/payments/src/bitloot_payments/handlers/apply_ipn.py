"""Applying one stored IPN (or polled payment status) to its order and payment, inside the
caller's unit of work: the new state, the events (through the outbox) and any flag are
written in that one transaction, with the order and the payment locked."""

import logging
from dataclasses import dataclass
from decimal import Decimal

from bitloot_contracts.events import OrderLine, PaymentFinished, PaymentStatusChanged
from bitloot_payments.adapters.ipn_signature import parse
from bitloot_payments.domain.notification import notification_of, order_id_of, text
from bitloot_payments.domain.payment import GIVEN_UP, Context, Outcome, apply, is_status
from bitloot_payments.domain.records import Flag, Line, LoggedIpn, Order, order_state, payment_state
from bitloot_payments.handlers.ports import PaymentsWork

logger = logging.getLogger(__name__)


def payment_finished(order: Order, payment_id: str, lines: list[Line]) -> PaymentFinished:
    """The event that starts fulfillment (and tells delivery what the order is, in
    words): what was paid, by whom, for which products."""
    return PaymentFinished(
        order_id=order.order_id,
        payment_id=payment_id,
        amount=order.total.normalize(),
        currency=order.currency,
        customer_email=order.email,
        lines=tuple(
            OrderLine(
                sku=line.sku,
                kinguin_product_id=line.kinguin_product_id,
                qty=line.qty,
                max_unit_price=line.max_unit_price.normalize(),
                # What delivery names in the key email and on the reveal page, and the
                # platform whose redemption help it shows (its general help if none).
                title=line.title,
                platform=line.platform,
            )
            for line in lines
        ),
    )


async def emit_payment_finished(uow: PaymentsWork, order: Order, payment_id: str) -> None:
    """Queue `payment.finished` for `order`, paid by `payment_id` (the caller has made
    sure, under the order's lock, that the order was not paid before)."""
    lines = await uow.orders.lines(order.order_id)
    await uow.emit(payment_finished(order, payment_id, lines))
    logger.info("order paid", extra={"payment_id": payment_id})


@dataclass(frozen=True)
class Applied:
    """What became of one IPN: its `result`, whether it repeated one already applied,
    and the order it was linked to (None if it names none we know)."""

    result: str
    duplicate: bool = False
    order: Order | None = None


class ApplyIpn:
    """Applies one stored IPN in the caller's unit of work (not committed here), with an
    underpayment of up to `tolerance_percent` taken as paid."""

    def __init__(self, tolerance_percent: Decimal = Decimal(0)) -> None:
        self._tolerance_percent = tolerance_percent

    async def __call__(self, uow: PaymentsWork, ipn: LoggedIpn) -> Applied:
        document = parse(ipn.raw_body)
        order_id = order_id_of(document)
        parent = text(document, "parent_payment_id")
        if order_id is None and parent is not None:
            # A re-deposit names only the payment it tops up: its order is that payment's.
            order_id = await uow.payments.order_of(parent)
        notification = notification_of(document, order_id)
        if notification is None:
            if parent is not None:
                detail = f"Re-deposit to payment {parent}, which is not ours."
                return Applied(await _refuse(uow, ipn, "unknown_order", detail))
            detail = "The IPN has no payment id, order id or known status."
            return Applied(await _refuse(uow, ipn, "unsupported", detail))
        order = await uow.orders.lock(notification.order_id)
        if order is None:
            detail = f"IPN for order {notification.order_id}, which does not exist."
            return Applied(await _refuse(uow, ipn, "unknown_order", detail))
        payment_id = notification.payment_id
        record = await uow.payments.lock(payment_id)
        # Only a payment that failed or expired asks whether another one is still live.
        live = notification.status in GIVEN_UP and await uow.payments.others_live(
            order.order_id, payment_id
        )
        context = Context(others_live=live, tolerance_percent=self._tolerance_percent)
        outcome = apply(order_state(order), payment_state(record), notification, context)
        saves_payment = not outcome.duplicate and outcome.result != "order_mismatch"
        moves_order = outcome.order != order_state(order)
        if saves_payment:
            moved = outcome.order if moves_order else None
            await uow.payments.save(notification, outcome.payment, moved)
        elif moves_order:
            await uow.orders.save_state(outcome.order)
        await _publish(uow, order, payment_id, outcome)
        if outcome.flag is not None:
            detail = f"Payment {payment_id}: {outcome.result} ({notification.status})."
            data = dict(outcome.flag_data)
            flag = Flag(outcome.flag, detail, order.order_id, payment_id, ipn.id, data=data)
            await uow.flags.add(flag)
            logger.warning("IPN flagged for an admin", extra={"flag": outcome.flag})
        return Applied(outcome.result, outcome.duplicate, order)


async def _refuse(uow: PaymentsWork, ipn: LoggedIpn, result: str, detail: str) -> str:
    logger.warning("IPN not applicable", extra={"result": result, "ipn_id": ipn.id})
    await uow.flags.add(Flag(result, detail, None, ipn.payment_id, ipn.id))
    return result


async def _publish(uow: PaymentsWork, order: Order, payment_id: str, outcome: Outcome) -> None:
    status, previous = outcome.payment.status, outcome.previous
    if outcome.status_changed and is_status(status):
        await uow.emit(
            PaymentStatusChanged(
                order_id=order.order_id,
                payment_id=payment_id,
                status=status,
                previous_status=previous if is_status(previous) else None,
            )
        )
    if outcome.finished:
        await emit_payment_finished(uow, order, payment_id)
