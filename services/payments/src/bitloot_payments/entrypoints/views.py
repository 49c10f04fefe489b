"""How orders, lines and products are written in JSON answers."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from bitloot_payments.adapters.catalog import Product
from bitloot_payments.adapters.orders import Line, Order


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


def lines_json(lines: list[Line]) -> list[dict[str, Any]]:
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
        "updated_at": utc(product.updated_at) if product.updated_at else None,
    }
