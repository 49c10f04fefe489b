"""Applying stored IPNs to their payments, after NOWPayments has had its answer.

Each pending IPN is claimed with ``FOR UPDATE SKIP LOCKED`` (several instances may run)
and applied in one transaction with its order and payment locked: the new state, the
events (through the outbox), any flag and the IPN's result commit together, so a crash
leaves the IPN pending and it is applied on the next pass.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable

from bitloot_contracts.events import OrderLine, PaymentFinished, PaymentStatusChanged
from bitloot_payments.adapters.flags import Flag, raise_flag
from bitloot_payments.adapters.ipn_log import LoggedIpn, claim_pending, mark_processed
from bitloot_payments.adapters.ipn_signature import parse
from bitloot_payments.adapters.orders import Line, Order, load_lines, load_order, save_state
from bitloot_payments.adapters.orders import state_of as order_state
from bitloot_payments.adapters.payments import load_payment, save_payment
from bitloot_payments.adapters.payments import state_of as payment_state
from bitloot_payments.domain.notification import notification_of, text
from bitloot_payments.domain.payment import Outcome, apply, is_status
from bitloot_payments.handlers.edge_load import EdgeLoad
from bitloot_runtime.db import UnitOfWork
from bitloot_runtime.logging import log_context

logger = logging.getLogger(__name__)

QUIET_RESULTS = frozenset({"duplicate", "stale"})


def payment_finished(order: Order, payment_id: str, lines: list[Line]) -> PaymentFinished:
    """The event that starts fulfillment: what was paid, by whom, for which products."""
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
            )
            for line in lines
        ),
    )


class IpnProcessor:
    """Applies pending IPNs: at once when woken by the edge, every `poll_interval`
    otherwise (IPNs stored by another instance, or left by a crash); each one only while
    `load` says no IPN is being answered."""

    def __init__(
        self,
        unit_of_work: Callable[[], UnitOfWork],
        load: EdgeLoad | None = None,
        poll_interval: float = 1.0,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._load = load or EdgeLoad()
        self._poll_interval = poll_interval
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Process until cancelled. A pass that fails (the database restarting, say) is
        logged and tried again at the next wake-up or poll: the IPNs it left pending are
        still there, and nothing else would ever apply them."""
        while True:
            self._wake.clear()
            try:
                await self.drain()
            except Exception:
                logger.exception("IPN processing pass failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_interval)

    async def drain(self) -> int:
        """Process every pending IPN; how many."""
        count = 0
        while True:
            await self._load.quiet()
            if not await self.process_one():
                return count
            count += 1

    async def process_one(self) -> bool:
        """Apply the oldest pending IPN; False if there was none."""
        async with self._unit_of_work() as uow:
            ipn = await claim_pending(uow.session)
            if ipn is None:
                return False
            with log_context(order_id=str(ipn.order_id) if ipn.order_id else None):
                try:
                    result, duplicate = await self._process(uow, ipn)
                except Exception:
                    # Left pending, a poisoned IPN would hold up every one after it.
                    logger.exception("IPN processing failed", extra={"ipn_id": ipn.id})
                    await uow.session.rollback()
                    await self._give_up(ipn)
                    return True
                await mark_processed(uow.session, ipn.id, result, duplicate)
                await uow.commit()
                # Repeats are most of the traffic and change nothing: not worth a line each.
                level = logging.DEBUG if result in QUIET_RESULTS else logging.INFO
                logger.log(level, "IPN processed", extra={"ipn_id": ipn.id, "result": result})
        return True

    async def _give_up(self, ipn: LoggedIpn) -> None:
        async with self._unit_of_work() as uow:
            await mark_processed(uow.session, ipn.id, "error", False)
            detail = "Processing the IPN failed; see the service log."
            await raise_flag(
                uow.session, Flag("processing_error", detail, ipn.order_id, ipn.payment_id, ipn.id)
            )
            await uow.commit()

    async def _process(self, uow: UnitOfWork, ipn: LoggedIpn) -> tuple[str, bool]:
        document = parse(ipn.raw_body)
        notification = notification_of(document)
        if notification is None:
            detail = "The IPN has no payment id, order id or known status."
            return await self._refuse(uow, ipn, "unsupported", detail), False
        order = await load_order(uow.session, notification.order_id, lock=True)
        if order is None:
            detail = f"IPN for order {notification.order_id}, which does not exist."
            return await self._refuse(uow, ipn, "unknown_order", detail), False
        record = await load_payment(uow.session, notification.payment_id)
        outcome = apply(order_state(order), payment_state(record), notification)
        if not outcome.duplicate and outcome.result != "order_mismatch":
            await save_payment(
                uow.session, notification, outcome.payment, text(document, "pay_currency")
            )
        if outcome.order != order_state(order):
            await save_state(uow.session, outcome.order)
        await self._publish(uow, order, notification.payment_id, outcome)
        if outcome.flag is not None:
            detail = f"Payment {notification.payment_id}: {outcome.result} ({notification.status})."
            flag = Flag(outcome.flag, detail, order.order_id, notification.payment_id, ipn.id)
            await raise_flag(uow.session, flag)
            logger.warning("IPN flagged for an admin", extra={"flag": outcome.flag})
        return outcome.result, outcome.duplicate

    async def _refuse(self, uow: UnitOfWork, ipn: LoggedIpn, result: str, detail: str) -> str:
        logger.warning("IPN not applicable", extra={"result": result, "ipn_id": ipn.id})
        await raise_flag(uow.session, Flag(result, detail, None, ipn.payment_id, ipn.id))
        return result

    async def _publish(
        self, uow: UnitOfWork, order: Order, payment_id: str, outcome: Outcome
    ) -> None:
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
            lines = await load_lines(uow.session, order.order_id)
            await uow.emit(payment_finished(order, payment_id, lines))
            logger.info("order paid", extra={"payment_id": payment_id})
