"""The customer's order page: ``GET /orders/{order_id}`` for a browser, opened with the
order token as the JSON answer is (``?token=`` in the link the checkout answers and
NOWPayments' success URL send; ``Authorization: Bearer`` works too).

The page is rendered on the server in its current state, so it is right without
JavaScript. One script, served here (``/orders/live.js``) and allowed by the page's
Content-Security-Policy through a nonce of that answer only, keeps the status block up to
date over fulfillment's WebSocket (``/ws/orders/{order_id}``, on the page's own origin
unless PAYMENTS_LIVE_STATUS_URL names another; connect-src allows exactly that origin).
Every status the page may show is rendered into an inert ``<template>``, so the words
live here once and the script only swaps blocks.

Fulfillment knows the saga, the order's refund and the key email, and tells them in the
same customer words (`bitloot_contracts.customer`); it does not know that an order is
not paid yet, or is held for review before payment finished, so the script never moves
the page back to "awaiting payment" from anything else: those states come right on a
reload. A preorder is known from the catalog (what Kinguin last said of the product);
a slow order from fulfillment's frames (`delay`).
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from importlib.resources import files
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from bitloot_payments.entrypoints.customer_pages import TEMPLATES, order_number
from bitloot_payments.handlers.queries import CustomerOrder
from bitloot_runtime.http import HttpError
from bitloot_runtime.pages import SECURITY_HEADERS, wants_json

SCRIPT_PATH: Final = "/orders/live.js"
_SCRIPT: Final = files("bitloot_payments.entrypoints").joinpath("static/live.js").read_bytes()
_SCRIPT_VERSION: Final = hashlib.sha256(_SCRIPT).hexdigest()[:12]

STAGES: Final[dict[str, tuple[int, str]]] = {
    # status: (step of the progress bar reached, 0 for none; tone of the status block)
    "awaiting_payment": (1, "wait"),
    "payment_received": (2, "progress"),
    "under_review": (2, "wait"),
    "delivering": (3, "progress"),
    "preorder": (3, "wait"),
    "delayed": (3, "wait"),
    "keys_ready": (4, "done"),
    "delivered": (4, "done"),
    "failed": (0, "problem"),
    "not_paid": (0, "problem"),
    "refund_due": (0, "money"),
    "refund_claimed": (0, "money"),
    "refunded": (0, "done"),
    "refund_failed": (0, "problem"),
    "refund_rejected": (0, "problem"),
}
"""Every status the page shows: the customer statuses, `preorder` and `delayed`, which
are `delivering` told more precisely, and `not_paid`, a `failed` order that was never
paid (its invoice expired or its payment failed: there is nothing to refund)."""


def wants_page(request: Request) -> bool:
    """Whether to answer with the page: the client accepts HTML (a browser) and did not
    ask for JSON. Any other client (``*/*``, none) keeps the JSON answer it always had."""
    return "text/html" in request.headers.get("accept", "") and not wants_json(request)


@dataclass(frozen=True)
class PageLine:
    title: str
    qty: int
    unit_price: str
    amount: str


def _amount(value: Decimal, currency: str) -> str:
    return f"{value:,.2f} {currency.upper()}"


def _when(moment: datetime) -> str:
    at = moment.astimezone(UTC)
    return f"{at.day} {at:%b %Y, %H:%M} UTC"


def _shown_status(found: CustomerOrder) -> tuple[str, str | None]:
    """The page's status (see `STAGES`) and a preorder's release date: `delivering` is
    `preorder` when the catalog says a product of the order is one."""
    status: str = found.customer_status
    if status == "failed" and found.order.paid_at is None:
        return "not_paid", None
    if status != "delivering":
        return status, None
    for line in found.lines:
        product = found.products.get(line.sku)
        availability = product.availability if product else None
        if availability is not None and availability.is_preorder:
            return "preorder", availability.release_date
    return status, None


class OrderPages:
    """Renders the order page and its refusals; `live_url` is the WebSocket base the
    script connects to (None: the page's own origin), `live_origin` its origin."""

    def __init__(self, live_url: str | None, live_origin: str | None) -> None:
        self._live_url = live_url or ""
        self._connect_src = live_origin or "'self'"
        self._templates = TEMPLATES

    def _headers(self, nonce: str | None = None) -> dict[str, str]:
        policy = SECURITY_HEADERS["Content-Security-Policy"]
        if nonce is not None:
            policy += f"; script-src 'nonce-{nonce}'; connect-src {self._connect_src}"
        return {**SECURITY_HEADERS, "Content-Security-Policy": policy}

    def order(self, found: CustomerOrder) -> HTMLResponse:
        """The order page in the order's current state."""
        order, nonce = found.order, secrets.token_urlsafe(16)
        status, release_date = _shown_status(found)
        lines = [
            PageLine(
                title=(found.products[line.sku].title if line.sku in found.products else line.sku),
                qty=line.qty,
                unit_price=_amount(line.unit_price, order.currency),
                amount=_amount(line.unit_price * line.qty, order.currency),
            )
            for line in found.lines
        ]
        refund = found.refunds[-1] if found.refunds else None
        context: dict[str, Any] = {
            "order": order,
            "number": order_number(order.order_id),
            "lines": lines,
            "total": _amount(order.total, order.currency),
            "created": _when(order.created_at),
            "created_iso": order.created_at.astimezone(UTC).isoformat(),
            "status": status,
            "stages": STAGES,
            "release_date": release_date,
            "refund_amount": _amount(refund.amount, refund.currency) if refund else None,
            "transaction_id": refund.transaction_id if refund else None,
            "live_url": self._live_url,
            "script": f"{SCRIPT_PATH}?v={_SCRIPT_VERSION}",
            "nonce": nonce,
        }
        html = self._templates.get_template("order.html").render(**context)
        return HTMLResponse(html, headers=self._headers(nonce))

    def refusal(self, error: HttpError) -> HTMLResponse:
        """A refusal (401, 403, 404) as a page saying what the customer can do."""
        html = self._templates.get_template("order_error.html").render(code=error.code)
        return HTMLResponse(html, status_code=error.status, headers=self._headers())


async def live_script(_request: Request) -> Response:
    """The order page's script. Its URL changes with its content (``?v=``), so it may
    be cached."""
    headers = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
    return Response(_SCRIPT, media_type="text/javascript", headers=headers)
