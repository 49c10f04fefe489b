"""The customer-facing edge: place an order, look at it (JSON, or the order page for a
browser: `entrypoints.order_page`), and NOWPayments' callbacks: payment IPNs and payout
IPNs (a refund's payout moved), each stored, then applied in the background."""

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from bitloot_contracts.customer import CustomerStatus
from bitloot_contracts.events import OrderState
from bitloot_contracts.events.fields import Identifier, Quantity
from bitloot_payments.domain.email_address import EmailRefused, EmailRule
from bitloot_payments.domain.order import saga_state
from bitloot_payments.entrypoints.edge import REFUSALS, Edge
from bitloot_payments.entrypoints.order_page import SCRIPT_PATH, live_script, wants_page
from bitloot_payments.entrypoints.views import FULFILMENT_STATE, LineItem, Money, OrderFields
from bitloot_payments.handlers.place_order import RequestedLine
from bitloot_runtime.app import dependencies
from bitloot_runtime.http import (
    HttpError,
    answer,
    error_response,
    parse_body,
    read_body,
    read_json,
)
from bitloot_runtime.openapi import PUBLIC, ApiRoute
from bitloot_runtime.rate_limits import RateLimited
from bitloot_runtime.tokens import InvalidToken

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


class Placed(BaseModel):
    """The order, awaiting payment, and how its customer opens it."""

    order_id: UUID
    status: str
    total: Money
    currency: str
    invoice_url: str
    order_token: str
    order_url: str


class CustomerOrderView(OrderFields):
    lines: list[LineItem]
    fulfilment_state: OrderState | None
    customer_status: CustomerStatus


class Stored(BaseModel):
    status: Literal["ok"] = "ok"


async def create_order(request: Request) -> Response:
    """``POST /orders``: a valid body, its address by the edge's rule, past the gate's
    limits; answers the order and its page's URL."""
    edge = dependencies(request, Edge)
    _raw, document = await read_json(request)
    body = parse_body(OrderBody, document)
    email = customer_email(edge.emails, body.email)
    lines = [RequestedLine(line.sku, line.qty) for line in body.lines]
    key = idempotency_key(request)
    try:
        await edge.gate(request.client.host if request.client else None)
    except RateLimited as exc:
        return rate_limited(exc)
    placed = await edge.placement(email, lines, key)
    url = edge.order_url.format(order_id=placed.order_id, order_token=placed.order_token)
    return answer(Placed(**vars(placed), order_url=url), 201)


async def show_order(request: Request) -> Response:
    """``GET /orders/{order_id}``: JSON, or the customer's order page for a browser."""
    edge = dependencies(request, Edge)
    order_id: UUID = request.path_params["order_id"]
    try:
        edge.verifier.verify(bearer_or_query_token(request), order_id)
        found = await edge.read_order(order_id)
        if found is None:
            raise HttpError(404, "order_not_found", f"No order {order_id}.")
    except (InvalidToken, HttpError) as exc:
        if not wants_page(request):
            raise
        refusal = REFUSALS[InvalidToken].error(exc) if isinstance(exc, InvalidToken) else exc
        return edge.pages.refusal(refusal)
    if wants_page(request):
        return edge.pages.order(found)
    order = found.order
    return answer(
        CustomerOrderView.model_validate(
            {
                **vars(order),
                "lines": found.lines,
                "fulfilment_state": saga_state(order.fulfilment_state),
                "customer_status": found.customer_status,
            }
        )
    )


async def ipn(request: Request) -> Response:
    """``POST /payments/ipn``: stored, then applied in the background."""
    body, signature, client = await signed_callback(request)
    await dependencies(request, Edge).receiver(body, signature, client)
    return answer(Stored())


PAYOUT_IPN_PATH = "/payments/payout-ipn"


class PayoutIpnBody(BaseModel):
    """NOWPayments' payout IPN: the withdrawal object, signed in `x-nowpayments-sig`
    like payment IPNs."""

    id: str
    batch_withdrawal_id: str | None = None
    status: str
    hash: str | None = None
    error: str | None = None
    amount: str
    currency: str


async def payout_ipn(request: Request) -> Response:
    body, signature, client = await signed_callback(request)
    await dependencies(request, Edge).payout_receiver(body, signature, client)
    return answer(Stored())


class IpnBody(BaseModel):
    """NOWPayments' IPN, signed in `x-nowpayments-sig` (HMAC-SHA512 of the body
    re-serialised with sorted keys)."""

    payment_id: int | str | None = None
    payment_status: str | None = None
    order_id: str | None = None
    price_amount: float | None = None
    price_currency: str | None = None
    actually_paid: float | None = None
    pay_currency: str | None = None


_KEY = {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY}
CALLBACK_ERRORS = {
    "400": "Not valid JSON, a NUL or lone surrogate (`malformed_json`), a key given twice "
    "(`duplicate_json_key`), not an object (`not_an_object`).",
    "401": "The signature is missing or wrong (`invalid_signature`).",
    "413": "Larger than 64 KiB (`body_too_large`).",
}

ROUTES: list[BaseRoute] = [
    ApiRoute(
        "/orders",
        create_order,
        method="POST",
        status=201,
        summary="Place an order: answers its id, total, invoice URL, order token and "
        "`order_url`, the customer's order page (opened with the token).",
        success="The order, awaiting payment.",
        response=Placed,
        body=OrderBody,
        security=PUBLIC,
        headers=[{"name": "Idempotency-Key", "in": "header", "schema": _KEY}],
        refusals={
            "409": "Kinguin cannot supply a line now (`out_of_stock`, `price_above_maximum`; "
            "`fields` names each line and its sku), or the Idempotency-Key was used for "
            "another order (`idempotency_key_reused`). Nothing is stored and no invoice is "
            "created.",
            "429": "Too many orders from this client or from everyone (`rate_limited`; "
            "`fields` names the limit, `checkout_client`, `checkout_network` (the client's "
            "IPv6 /48) or `checkout_global`; Retry-After). Nothing is stored and no invoice "
            "is created.",
            "502": "NOWPayments did not answer (`payment_provider_unavailable`).",
        },
    ),
    ApiRoute(
        "/orders/{order_id:uuid}",
        show_order,
        summary="The order's status, for the holder of its order token: JSON for API clients "
        "(any Accept but one that takes text/html without application/json), the customer's "
        "order page for a browser (its status live over fulfillment's WS "
        "/ws/orders/{order_id}, through /orders/live.js).",
        success=f"The order. {FULFILMENT_STATE}",
        response=CustomerOrderView,
        page=True,
        security=[{"orderToken": []}, {"orderTokenQuery": []}],
        refusals={
            "401": "No valid order token (`token_missing`, `token_invalid`, `token_expired`).",
            "403": "The token is for another order (`token_wrong_order`).",
            "404": "No such order (`order_not_found`).",
        },
    ),
    ApiRoute(
        SCRIPT_PATH,
        live_script,
        summary="The order page's script (it follows the live status and updates the page).",
        success="JavaScript.",
        response=None,
        media="text/javascript",
        security=PUBLIC,
    ),
    ApiRoute(
        "/payments/ipn",
        ipn,
        method="POST",
        summary="NOWPayments' instant payment notification: logged, then applied in the "
        "background.",
        success="Stored.",
        response=Stored,
        body=IpnBody,
        security=[{"nowpaymentsSignature": []}],
        body_errors=CALLBACK_ERRORS,
    ),
    ApiRoute(
        PAYOUT_IPN_PATH,
        payout_ipn,
        method="POST",
        summary="NOWPayments' payout IPN (a refund's payout moved): logged once, then applied "
        "in the background. An authentic body received again is answered and not stored.",
        success="Stored, or already stored.",
        response=Stored,
        body=PayoutIpnBody,
        security=[{"nowpaymentsSignature": []}],
        body_errors={
            **CALLBACK_ERRORS,
            "400": f"{CALLBACK_ERRORS['400']} Or not a payout (`not_a_payout`).",
        },
    ),
]
