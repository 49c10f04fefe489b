"""Reading an authentic IPN body into a `Notification` (pure: no I/O)."""

from uuid import UUID

from bitloot_payments.domain.payment import Notification, as_decimal, is_status


def text(document: dict[str, object], name: str) -> str | None:
    """A field that NOWPayments sends as a string or a number, as a non-empty string."""
    value = document.get(name)
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        return None
    return str(value)


def notification_of(document: dict[str, object]) -> Notification | None:
    """What the IPN states, or None without a payment id, an order id or a known status."""
    payment_id, status = text(document, "payment_id"), document.get("payment_status")
    try:
        order_id = UUID(str(document.get("order_id")))
    except ValueError:
        return None
    if payment_id is None or not is_status(status):
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
    )
