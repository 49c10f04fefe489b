"""The customer-facing edge: place an order, look at it (JSON, or the order page for a
browser: `entrypoints.order_page`), and NOWPayments' IPN callback."""

import logging
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitloot_contracts.events.fields import Identifier, Quantity
from bitloot_payments.domain.email_address import EmailRefused, EmailRule
from bitloot_payments.domain.order import saga_state
from bitloot_payments.entrypoints.order_page import OrderPages, script_routes, wants_page
from bitloot_payments.entrypoints.views import lines_json, money
from bitloot_payments.handlers.checkout_limits import CheckoutGate
from bitloot_payments.handlers.place_order import (
    IdempotencyConflict,
    OrderPlacement,
    OrderRejected,
    PaymentProviderUnavailable,
    ProductUnavailable,
    RequestedLine,
)
from bitloot_payments.handlers.queries import CustomerOrder, Queries
from bitloot_payments.handlers.receive_ipn import ForgedIpn, IpnReceiver, MalformedIpn
from bitloot_runtime.http import HttpError, error_response, parse_body, read_body, read_json
from bitloot_runtime.rate_limits import RateLimited
from bitloot_runtime.tokens import InvalidToken, OrderTokenVerifier

logger = logging.getLogger(__name__)

SIGNATURE_HEADERS = ("x-nowpayments-sig", "x-nowpayments-signature")
MAX_IDEMPOTENCY_KEY = 255
IPN_MAX_BODY = 64 * 1024
# Far beyond any address the rule accepts (254): longer is not worth validating.
MAX_EMAIL = 1024


class LineBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Identifier
    qty: Quantity


class OrderBody(BaseModel):
    """``POST /orders``: who pays, and up to 10 products (each sku once)."""

    model_config = ConfigDict(extra="forbid")

    # Checked and normalised by `EmailRule` once the body parses, so that every bad
    # address is refused with the same reason (`invalid_email`).
    email: str = Field(max_length=MAX_EMAIL, json_schema_extra={"format": "idn-email"})
    lines: list[LineBody] = Field(min_length=1, max_length=10)

    @field_validator("lines")
    @classmethod
    def _each_sku_once(cls, lines: list[LineBody]) -> list[LineBody]:
        if len({line.sku for line in lines}) != len(lines):
            raise ValueError("each sku may appear on one line only")
        return lines


def idempotency_key(request: Request) -> str | None:
    """The ``Idempotency-Key`` header: 1-255 visible ASCII characters; 422 otherwise."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY or not key.isascii() or not key.isprintable():
        field = {"field": "Idempotency-Key", "code": "invalid", "error": "1-255 printable ASCII"}
        raise HttpError(422, "invalid_request", "The Idempotency-Key is invalid.", [field])
    return key


def bearer_or_query_token(request: Request) -> str | None:
    """The order token from ``Authorization: Bearer …`` or, failing that, ``?token=``."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.query_params.get("token") or None


async def signed_callback(request: Request) -> tuple[bytes, str | None, str]:
    """A NOWPayments callback's raw body (at most `IPN_MAX_BODY`), its signature header
    and the calling address."""
    body = await read_body(request, IPN_MAX_BODY)
    signature = next((request.headers[h] for h in SIGNATURE_HEADERS if h in request.headers), None)
    return body, signature, request.client.host if request.client else "?"


def customer_email(emails: EmailRule, raw: str) -> str:
    """The checkout's address, normalised; 422 naming the field and why otherwise."""
    try:
        return emails.normalise(raw)
    except EmailRefused as exc:
        field = {"field": "email", "code": exc.code, "error": str(exc)}
        raise HttpError(422, "invalid_request", "The email address is invalid.", [field]) from None


def rate_limited(exc: RateLimited) -> Response:
    """429 with ``Retry-After`` and the limit that refused (``checkout_client``: this
    client's; ``checkout_network``: its IPv6 /48's; ``checkout_global``: the shop's)."""
    error = HttpError(429, "rate_limited", str(exc), [{"limit": exc.limit.name}])
    response = error_response(error)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def public_routes(
    placement: OrderPlacement,
    gate: CheckoutGate,
    emails: EmailRule,
    receiver: IpnReceiver,
    queries: Queries,
    verifier: OrderTokenVerifier,
    pages: OrderPages,
    order_url: str,
) -> list[Route]:
    """``POST /orders`` (a valid body, its address by `emails`' rule, past `gate`'s
    limits), ``GET /orders/{order_id}`` (JSON, or the customer's order page for a browser)
    and ``POST /payments/ipn``; `order_url` is the order page's URL template, with
    ``{order_id}`` and ``{order_token}``."""

    async def create_order(request: Request) -> Response:
        _raw, document = await read_json(request)
        body = parse_body(OrderBody, document)
        email = customer_email(emails, body.email)
        lines = [RequestedLine(line.sku, line.qty) for line in body.lines]
        key = idempotency_key(request)
        try:
            await gate.admit(request.client.host if request.client else None)
        except RateLimited as exc:
            return rate_limited(exc)
        try:
            placed = await placement.place(email, lines, key)
        except OrderRejected as exc:
            raise HttpError(422, "invalid_request", "The order is invalid.", exc.fields) from None
        except ProductUnavailable as exc:
            raise HttpError(409, exc.code, str(exc), exc.fields) from None
        except IdempotencyConflict as exc:
            raise HttpError(409, "idempotency_key_reused", str(exc)) from None
        except PaymentProviderUnavailable:
            raise HttpError(
                502, "payment_provider_unavailable", "The payment provider is unavailable."
            ) from None
        answer = {
            "order_id": str(placed.order_id),
            "status": placed.status,
            "total": money(placed.total),
            "currency": placed.currency,
            "invoice_url": placed.invoice_url,
            "order_token": placed.order_token,
            "order_url": order_url.format(order_id=placed.order_id, order_token=placed.order_token),
        }
        return JSONResponse(answer, status_code=201)

    async def show_order(request: Request) -> Response:
        try:
            found = await _order_of(request)
        except HttpError as refusal:
            if wants_page(request):
                return pages.refusal(refusal)
            raise
        if wants_page(request):
            return pages.order(found)
        order = found.order
        state = saga_state(order.fulfilment_state)
        return JSONResponse(
            {
                "order_id": str(order.order_id),
                "status": order.status,
                "email": order.email,
                "total": money(order.total),
                "currency": order.currency,
                "invoice_url": order.invoice_url,
                "lines": lines_json(found.lines),
                "payment_status": order.payment_status,
                "fulfilment_state": state,
                "customer_status": found.customer_status,
            }
        )

    async def _order_of(request: Request) -> CustomerOrder:
        order_id: UUID = request.path_params["order_id"]
        try:
            verifier.verify(bearer_or_query_token(request), order_id)
        except InvalidToken as exc:
            # The reason and the order, never the token (nor the URL that carries it).
            logger.info("order view refused", extra={"reason": exc.code, "order_id": str(order_id)})
            status = 403 if exc.code == "token_wrong_order" else 401
            raise HttpError(status, exc.code, str(exc)) from None
        found = await queries.customer_order(order_id)
        if found is None:
            raise HttpError(404, "order_not_found", f"No order {order_id}.")
        return found

    async def ipn(request: Request) -> Response:
        body, signature, client = await signed_callback(request)
        try:
            await receiver(body, signature, client)
        except MalformedIpn as exc:
            raise HttpError(400, exc.code, str(exc)) from None
        except ForgedIpn as exc:
            raise HttpError(401, "invalid_signature", str(exc)) from None
        return JSONResponse({"status": "ok"})

    return [
        Route("/orders", create_order, methods=["POST"]),
        Route("/orders/{order_id:uuid}", show_order, methods=["GET"]),
        *script_routes(),
        Route("/payments/ipn", ipn, methods=["POST"]),
    ]
