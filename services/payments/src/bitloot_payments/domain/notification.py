"""Reading an authentic IPN body (or a polled payment status, which NOWPayments writes in
the same shape) into a `Notification` (pure: no I/O)."""

from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from pydantic import JsonValue

from bitloot_payments.domain.payment import Notification, as_decimal, is_status


def text(document: dict[str, JsonValue], name: str) -> str | None:
    """A field that NOWPayments sends as a string or a number, as a non-empty string."""
    value = document.get(name)
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        return None
    return str(value)


def moment(document: dict[str, JsonValue], name: str) -> datetime | None:
    """A NOWPayments time, None if absent or unreadable. The API writes ISO 8601
    (``2021-04-12T14:22:54.942Z``); IPNs have been seen with milliseconds since the epoch
    (``1765249461097``)."""
    value = document.get(name)
    try:
        if isinstance(value, str):
            parsed = datetime.fromisoformat(value)
            return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            return datetime.fromtimestamp(float(value) / 1000, UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def order_id_of(document: dict[str, JsonValue]) -> UUID | None:
    """The order the body names, None if it names none (a re-deposit names only its
    parent payment) or names something that is not one of our order ids."""
    raw = document.get("order_id")
    if not isinstance(raw, str):
        return None
    try:
        return UUID(raw)
    except ValueError:
        return None


def notification_of(
    document: dict[str, JsonValue], order_id: UUID | None = None
) -> Notification | None:
    """What the body states, for `order_id` when given (the order of a re-deposit's parent
    payment), else the order the body names; None without a payment id, an order or a
    known status."""
    payment_id, status = text(document, "payment_id"), document.get("payment_status")
    order_id = order_id or order_id_of(document)
    if payment_id is None or order_id is None or not is_status(status):
        return None
    return Notification(
        payment_id=payment_id,
        status=status,
        order_id=order_id,
        price_amount=as_decimal(document.get("price_amount")),
        price_currency=text(document, "price_currency"),
        pay_amount=as_decimal(document.get("pay_amount")),
        actually_paid=as_decimal(document.get("actually_paid")),
        parent_payment_id=text(document, "parent_payment_id"),
        pay_currency=text(document, "pay_currency"),
        created_at=moment(document, "created_at"),
        updated_at=moment(document, "updated_at"),
    )
