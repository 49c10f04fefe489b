"""The NOWPayments API: ``/v1/...`` with its authentication, errors and faults."""

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from functools import wraps

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitloot_sandbox_nowpayments.sandbox import NowPaymentsSandbox
from bitloot_sandbox_nowpayments.store import RATES, NewInvoice

Endpoint = Callable[[Request], Awaitable[Response]]


class InvalidRequest(ValueError):
    """A request body NOWPayments would refuse with INVALID_REQUEST_PARAMS."""


def error(status: int, code: str, message: str) -> JSONResponse:
    """NOWPayments' error body."""
    body = {"status": False, "statusCode": status, "code": code, "message": message}
    headers = {"Retry-After": "1"} if status == 429 else None
    return JSONResponse(body, status_code=status, headers=headers)


def sandbox_of(request: Request) -> NowPaymentsSandbox:
    """The sandbox serving `request`."""
    sandbox: NowPaymentsSandbox = request.app.state.sandbox
    return sandbox


def api(handler: Endpoint) -> Endpoint:
    """Injected faults first, then the ``x-api-key`` check, then `handler`."""

    @wraps(handler)
    async def endpoint(request: Request) -> Response:
        sandbox = sandbox_of(request)
        delay = sandbox.faults.take_delay()
        if delay:
            await asyncio.sleep(delay)
        fault = sandbox.faults.take_api_fault()
        if fault == 429:
            return error(429, "TOO_MANY_REQUESTS", "Too many requests")
        if fault == 503:
            return error(503, "SERVICE_UNAVAILABLE", "Service temporarily unavailable")
        if request.headers.get("x-api-key") != sandbox.config.api_key:
            return error(403, "INVALID_API_KEY", "Invalid api key")
        try:
            return await handler(request)
        except InvalidRequest as exc:
            return error(400, "INVALID_REQUEST_PARAMS", str(exc))

    return endpoint


@api
async def create_invoice(request: Request) -> Response:
    """``POST /v1/invoice``: the invoice object, with an ``invoice_url`` to pay it."""
    try:
        body = await request.json()
    except ValueError:
        raise InvalidRequest("Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequest('"value" must be of type object')
    invoice = sandbox_of(request).create_invoice(parse_invoice(body), str(request.base_url))
    return JSONResponse(invoice.as_json())


def parse_invoice(body: dict[str, object]) -> NewInvoice:
    """The fields of an invoice request, validated as NOWPayments does."""
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
    )


def amount(value: object) -> Decimal:
    """``price_amount``: a positive number (or numeric string)."""
    if value is None:
        raise InvalidRequest('"price_amount" is required')
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidRequest('"price_amount" must be a number')
    try:
        parsed = Decimal(str(value))
    except InvalidOperation:
        raise InvalidRequest('"price_amount" must be a number') from None
    if not parsed.is_finite() or parsed <= 0:
        raise InvalidRequest('"price_amount" must be a positive number')
    return parsed


def required_text(body: dict[str, object], name: str) -> str:
    """A required non-empty string field."""
    value = optional_text(body, name)
    if not value:
        raise InvalidRequest(f'"{name}" is required')
    return value


def optional_text(body: dict[str, object], name: str) -> str | None:
    """An optional string field (absent or null: None)."""
    value = body.get(name)
    if value is None or isinstance(value, str):
        return value
    raise InvalidRequest(f'"{name}" must be a string')


@api
async def payment_status(request: Request) -> Response:
    """``GET /v1/payment/{payment_id}``: the payment status object."""
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
    Route("/v1/invoice", create_invoice, methods=["POST"]),
    Route("/v1/payment/{payment_id}", payment_status, methods=["GET"]),
]
