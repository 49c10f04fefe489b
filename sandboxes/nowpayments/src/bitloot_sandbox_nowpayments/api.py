"""The NOWPayments API, ``/v1/...``: invoices, payment status, the list of payments
(`listing`) and JWTs (`auth`), each behind the faults and checks of `endpoint`."""

from decimal import Decimal, InvalidOperation

from pydantic import JsonValue
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitloot_sandbox_nowpayments.auth import authenticate
from bitloot_sandbox_nowpayments.endpoint import (
    InvalidRequest,
    api,
    error,
    json_body,
    optional_flag,
    optional_text,
    required_text,
    sandbox_of,
)
from bitloot_sandbox_nowpayments.listing import list_payments
from bitloot_sandbox_nowpayments.store import RATES, NewInvoice


@api
async def create_invoice(request: Request) -> Response:
    """``POST /v1/invoice``: 201 and the invoice object, with an ``invoice_url`` to pay it."""
    body = await json_body(request)
    invoice = sandbox_of(request).create_invoice(parse_invoice(body), str(request.base_url))
    return JSONResponse(invoice.as_json(), status_code=201)


def parse_invoice(body: dict[str, JsonValue]) -> NewInvoice:
    """The documented fields of an invoice request, validated."""
    pay_currency = optional_text(body, "pay_currency")
    if pay_currency is not None and pay_currency.lower() not in RATES:
        raise InvalidRequest(f'"pay_currency" must be one of [{", ".join(RATES)}]')
    return NewInvoice(
        price_amount=amount(body.get("price_amount")),
        price_currency=required_text(body, "price_currency").lower(),
        pay_currency=pay_currency.lower() if pay_currency else None,
        order_id=optional_text(body, "order_id"),
        order_description=optional_text(body, "order_description"),
        ipn_callback_url=optional_text(body, "ipn_callback_url"),
        success_url=optional_text(body, "success_url"),
        cancel_url=optional_text(body, "cancel_url"),
        partially_paid_url=optional_text(body, "partially_paid_url"),
        is_fixed_rate=optional_flag(body, "is_fixed_rate"),
        is_fee_paid_by_user=optional_flag(body, "is_fee_paid_by_user"),
    )


def amount(value: object) -> Decimal:
    """``price_amount``: a positive JSON number, as documented ("price_amount (required)
    ... number"); a numeric string is refused like any other non-number."""
    if value is None:
        raise InvalidRequest('"price_amount" is required')
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidRequest('"price_amount" must be a number')
    try:
        parsed = Decimal(str(value))
    except InvalidOperation:
        raise InvalidRequest('"price_amount" must be a number') from None
    if not parsed.is_finite() or parsed <= 0:
        raise InvalidRequest('"price_amount" must be a positive number')
    return parsed


@api
async def payment_status(request: Request) -> Response:
    """``GET /v1/payment/{payment_id}`` (``x-api-key`` only): the payment status object."""
    raw = request.path_params["payment_id"]
    payment = sandbox_of(request).store.payments.get(int(raw)) if raw.isdigit() else None
    if payment is None:
        return error(404, "PAYMENT_NOT_FOUND", f"Payment {raw} not found")
    return JSONResponse(payment.as_json())


async def api_status(request: Request) -> Response:
    """``GET /v1/status``: the API is up."""
    return JSONResponse({"message": "OK"})


routes = [
    Route("/v1/status", api_status, methods=["GET"]),
    Route("/v1/auth", authenticate, methods=["POST"]),
    Route("/v1/invoice", create_invoice, methods=["POST"]),
    Route("/v1/payment/", list_payments, methods=["GET"]),
    Route("/v1/payment/{payment_id}", payment_status, methods=["GET"]),
]
