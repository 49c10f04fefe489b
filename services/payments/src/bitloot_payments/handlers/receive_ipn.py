"""Receiving a NOWPayments IPN: authenticate, log once, apply if it moves the payment on.

Every IPN is stored in `ipn_log`, authentic or not. An authentic one is applied in the
same transaction as its log row, under a lock on its order, so two copies of one IPN
arriving together cannot both take effect.
"""

import json
import logging
from collections.abc import Callable, Sequence
from uuid import UUID

from bitloot_contracts.events import OrderLine, PaymentFinished, PaymentStatusChanged
from bitloot_payments.adapters.ipn_log import IpnEntry, log_ipn, seen_before
from bitloot_payments.adapters.ipn_signature import verify
from bitloot_payments.adapters.orders import Line, Order, load_lines, load_order, record_payment
from bitloot_payments.domain.payment import (
    is_status,
    moves_forward,
    order_status_after,
    pays_order,
)
from bitloot_runtime.db import UnitOfWork
from bitloot_runtime.errors import BitlootError
from bitloot_runtime.logging import log_context

logger = logging.getLogger(__name__)


class MalformedIpn(BitlootError):
    """The body is not a JSON object (logged; nothing else happens)."""


class ForgedIpn(BitlootError):
    """The signature is missing or wrong (logged; nothing else happens)."""


def _claims(document: dict[str, object]) -> tuple[str | None, UUID | None, str | None]:
    """Payment id, order id and status as the body states them (not yet trusted)."""
    payment_id = document.get("payment_id")
    raw_order = document.get("order_id")
    status = document.get("payment_status")
    try:
        order_id = UUID(raw_order) if isinstance(raw_order, str) else None
    except ValueError:
        order_id = None
    return (
        str(payment_id) if isinstance(payment_id, str | int) and payment_id != "" else None,
        order_id,
        status if isinstance(status, str) else None,
    )


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


class IpnReceiver:
    """Handles IPNs; built in bootstrap with the IPN secrets in rotation."""

    def __init__(self, unit_of_work: Callable[[], UnitOfWork], secrets: Sequence[str]) -> None:
        self._unit_of_work = unit_of_work
        self._secrets = tuple(secrets)

    async def receive(self, body: bytes, signature: str | None, client: str) -> str:
        """What was made of the IPN (`paid`, `applied`, `duplicate`, `stale`, …); raises
        `MalformedIpn` or `ForgedIpn` after logging a refused one."""
        try:
            document = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            document = None
        if not isinstance(document, dict):
            await self._log(IpnEntry(body, signature_valid=False, result="malformed_json"))
            logger.warning("IPN refused: not a JSON object", extra={"client": client})
            raise MalformedIpn("The IPN body is not a JSON object.")
        payment_id, order_id, status = _claims(document)
        if not verify(body, signature, self._secrets):
            entry = IpnEntry(body, False, "invalid_signature", payment_id, order_id, status)
            await self._log(entry)
            logger.warning(
                "IPN refused: invalid signature",
                extra={"client": client, "claimed_order_id": str(order_id)},
            )
            raise ForgedIpn("The IPN signature is missing or invalid.")
        with log_context(order_id=str(order_id) if order_id else None):
            async with self._unit_of_work() as uow:
                result, duplicate = await self._apply(uow, document, payment_id, order_id, status)
                entry = IpnEntry(body, True, result, payment_id, order_id, status, duplicate)
                await log_ipn(uow.session, entry)
                await uow.commit()
            logger.info(
                "IPN received", extra={"payment_id": payment_id, "status": status, "result": result}
            )
        return result

    async def _log(self, entry: IpnEntry) -> None:
        async with self._unit_of_work() as uow:
            await log_ipn(uow.session, entry)
            await uow.commit()

    async def _apply(
        self,
        uow: UnitOfWork,
        document: dict[str, object],
        payment_id: str | None,
        order_id: UUID | None,
        status: str | None,
    ) -> tuple[str, bool]:
        if payment_id is None or not is_status(status):
            logger.warning("IPN without a payment id or a known status", extra={"status": status})
            return "unsupported", False
        order = await load_order(uow.session, order_id, lock=True) if order_id else None
        if order is None:
            logger.warning("IPN for an unknown order", extra={"claimed_order_id": str(order_id)})
            return "unknown_order", False
        if await seen_before(uow.session, payment_id, status):
            return "duplicate", True
        if not moves_forward(order.payment_status, status):
            logger.info("IPN older than the known status", extra={"known": order.payment_status})
            return "stale", False
        previous = order.payment_status if is_status(order.payment_status) else None
        await uow.emit(
            PaymentStatusChanged(
                order_id=order.order_id,
                payment_id=payment_id,
                status=status,
                previous_status=previous,
            )
        )
        if status != "finished":
            new_status = order_status_after(status, order.status)
            await record_payment(
                uow.session,
                order.order_id,
                payment_id=payment_id,
                payment_status=status,
                status=new_status,
            )
            return "applied", False
        return await self._finish(uow, order, payment_id, document), False

    async def _finish(
        self, uow: UnitOfWork, order: Order, payment_id: str, document: dict[str, object]
    ) -> str:
        paid = pays_order(
            document.get("price_amount"),
            document.get("price_currency"),
            order.total,
            order.currency,
        )
        await record_payment(
            uow.session,
            order.order_id,
            payment_id=payment_id,
            payment_status="finished",
            status="paid" if paid else order.status,
        )
        if not paid:
            logger.warning(
                "finished payment does not match the order",
                extra={
                    "price_amount": str(document.get("price_amount")),
                    "price_currency": str(document.get("price_currency")),
                    "total": str(order.total),
                    "currency": order.currency,
                },
            )
            return "amount_mismatch"
        lines = await load_lines(uow.session, order.order_id)
        await uow.emit(payment_finished(order, payment_id, lines))
        logger.info("order paid", extra={"payment_id": payment_id})
        return "paid"
