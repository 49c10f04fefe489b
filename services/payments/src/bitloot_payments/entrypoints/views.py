"""How orders, lines and products are written in JSON answers."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bitloot_contracts.customer import customer_status_of_refund
from bitloot_payments.adapters.catalog import Product
from bitloot_payments.domain.availability import Availability
from bitloot_payments.domain.records import Flag, Line, LoggedIpn, Order, PaymentRecord, Refund
from bitloot_payments.domain.refunds import as_status


def money(amount: Decimal) -> str:
    """A plain decimal string without trailing zeros or exponent (``12.5``, ``100``)."""
    return format(amount.normalize(), "f")


def utc(moment: datetime) -> str:
    """ISO-8601 in UTC, whatever time zone the database session uses."""
    return moment.astimezone(UTC).isoformat()


def order_json(order: Order) -> dict[str, Any]:
    return {
        "order_id": str(order.order_id),
        "email": order.email,
        "status": order.status,
        "total": money(order.total),
        "currency": order.currency,
        "created_at": utc(order.created_at),
        "payment_status": order.payment_status,
        "invoice_url": order.invoice_url,
    }


def lines_json(lines: list[Line], *, titled: bool = False) -> list[dict[str, Any]]:
    """Each line's SKU and quantity; `titled` adds the catalog's title of its product now
    (the admin shows it; the customer's JSON keeps its documented shape)."""
    if titled:
        return [{"sku": line.sku, "qty": line.qty, "title": line.title} for line in lines]
    return [{"sku": line.sku, "qty": line.qty} for line in lines]


def product_json(product: Product) -> dict[str, Any]:
    return {
        "sku": product.sku,
        "title": product.title,
        "kinguin_product_id": product.kinguin_product_id,
        "price": money(product.price),
        "currency": product.currency,
        "max_purchase_price": money(product.max_purchase_price),
        "active": product.active,
        "platform": product.platform,
        "updated_at": utc(product.updated_at) if product.updated_at else None,
        "kinguin_availability": _availability(product.availability),
    }


def _availability(availability: Availability | None) -> dict[str, Any] | None:
    """What Kinguin last had of the product (None: never observed, checkout not refused)."""
    if availability is None:
        return None
    return {
        "qty": availability.qty,
        "price_eur": _amount(availability.price),
        "is_preorder": availability.is_preorder,
        "release_date": availability.release_date,
        "observed_at": utc(availability.observed_at),
    }


def _amount(amount: Decimal | None) -> str | None:
    return money(amount) if amount is not None else None


def payment_json(payment: PaymentRecord) -> dict[str, Any]:
    return {
        "payment_id": payment.payment_id,
        "order_id": str(payment.order_id),
        "parent_payment_id": payment.parent_payment_id,
        "status": payment.status,
        "price_amount": _amount(payment.price_amount),
        "price_currency": payment.price_currency,
        "pay_amount": _amount(payment.pay_amount),
        "actually_paid": _amount(payment.actually_paid),
        "pay_currency": payment.pay_currency,
        "created_at": utc(payment.created_at),
        "updated_at": utc(payment.updated_at),
    }


def _moment(moment: datetime | None) -> str | None:
    return utc(moment) if moment else None


def ipn_json(ipn: LoggedIpn, *, with_body: bool = False) -> dict[str, Any]:
    """One logged IPN (or polled status: `source`); its raw body (as text) only when
    asked, it can be 64 KiB."""
    answer: dict[str, Any] = {
        "id": ipn.id,
        "received_at": utc(ipn.received_at),
        "source": ipn.source,
        "signature_valid": ipn.signature_valid,
        "payment_id": ipn.payment_id,
        "order_id": str(ipn.order_id) if ipn.order_id else None,
        "status": ipn.status,
        "duplicate": ipn.duplicate,
        "result": ipn.result,
        "processed_at": _moment(ipn.processed_at),
        "retries": ipn.retries,
        "last_error": ipn.last_error,
        "next_attempt_at": _moment(ipn.next_attempt_at),
        "replayed_by": ipn.replayed_by,
        "replayed_at": _moment(ipn.replayed_at),
    }
    if with_body:
        answer["raw_body"] = ipn.raw_body.decode("utf-8", errors="replace")
    return answer


def flag_json(flag: Flag) -> dict[str, Any]:
    return {
        "id": flag.id,
        "kind": flag.kind,
        "detail": flag.detail,
        "order_id": str(flag.order_id) if flag.order_id else None,
        "payment_id": flag.payment_id,
        "ipn_id": flag.ipn_id,
        "data": flag.data,
        "created_at": _moment(flag.created_at),
        "status": flag.status,
        "resolved_by": flag.resolved_by,
        "resolved_at": _moment(flag.resolved_at),
        "note": flag.note,
    }


def refund_json(refund: Refund) -> dict[str, Any]:
    """Every field of a refund, and what its status means to the customer."""
    return {
        "id": refund.id,
        "order_id": str(refund.order_id),
        "payment_id": refund.payment_id,
        "flag_id": refund.flag_id,
        "amount": money(refund.amount),
        "currency": refund.currency,
        "reason": refund.reason,
        "cause": refund.cause,
        "status": refund.status,
        "customer_status": customer_status_of_refund(as_status(refund.status)),
        "requested_by": refund.requested_by,
        "note": refund.note,
        "payout_address": refund.payout_address,
        "payout_extra_id": refund.payout_extra_id,
        "claimed_at": _moment(refund.claimed_at),
        "decided_by": refund.decided_by,
        "decided_at": _moment(refund.decided_at),
        "decision_note": refund.decision_note,
        "transaction_id": refund.transaction_id,
        "error": refund.error,
        "created_at": _moment(refund.created_at),
        "updated_at": _moment(refund.updated_at),
    }
