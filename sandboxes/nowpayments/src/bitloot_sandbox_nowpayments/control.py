"""Control endpoints for tests and the demo: ``/sandbox/...`` (JSON, no authentication).

- ``GET /sandbox/invoices``: every invoice, its payments and their IPNs (sent or dropped).
- ``POST /sandbox/invoices/{id}/pay`` {"outcome"?, "pay_currency"?, "actually_paid"?}: a
  new payment run to `outcome` (default finished) with its IPNs; `actually_paid` makes it
  an over- or underpayment. 201 and the payment status object.
- ``POST /sandbox/payments/{id}/status`` {"status", "actually_paid"?}: move a payment to
  any documented status (backwards too: late funds take an expired payment to finished)
  and send one IPN. 200 and the payment status object.
- ``POST /sandbox/payments/{id}/redeposit`` {"status"?: "finished" | "partially_paid",
  "actually_paid"?}: a repeated deposit to the payment's address, a child payment with its
  own IPN. 201 and the child's payment status object.
- ``GET|POST|DELETE /sandbox/faults``, ``GET|POST /sandbox/config``.

Amounts are JSON numbers; a refused call answers 400 (404 for an unknown id) with
``{"error": "invalid_request", "detail"}`` and changes nothing.
"""

import math
from decimal import Decimal

from pydantic import JsonValue
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitloot_sandbox_common.control import faults_route, json_object, refuse
from bitloot_sandbox_nowpayments.endpoint import sandbox_of
from bitloot_sandbox_nowpayments.payment import STATUSES, Payment
from bitloot_sandbox_nowpayments.store import RATES, SEQUENCES

# Documented: "Repeated deposits ... are marked with either the Partially paid or Finished
# status"; which one is the default is an account setting, so the caller chooses.
REDEPOSIT_STATUSES = ("finished", "partially_paid")


class Refused(ValueError):
    """A control call the sandbox will not carry out; the message says why."""


def _paid(body: dict[str, JsonValue]) -> Decimal | None:
    value = body.get("actually_paid")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Refused(f"actually_paid {value!r} is not a non-negative number")
    if not math.isfinite(value) or value < 0:
        raise Refused(f"actually_paid {value!r} is not a non-negative number")
    return Decimal(str(value))


def _choice(body: dict[str, JsonValue], name: str, allowed: tuple[str, ...], default: str) -> str:
    value = body.get(name, default)
    if not isinstance(value, str) or value not in allowed:
        raise Refused(f"{name} {value!r} is not one of {list(allowed)}")
    return value


def _payment(request: Request) -> Payment | None:
    raw = request.path_params["payment_id"]
    return sandbox_of(request).store.payments.get(int(raw)) if raw.isdigit() else None


async def list_invoices(request: Request) -> Response:
    """``GET /sandbox/invoices``: every invoice with its payments and their IPNs."""
    return JSONResponse([i.ledger() for i in sandbox_of(request).store.invoices.values()])


async def pay(request: Request) -> Response:
    """``POST /sandbox/invoices/{id}/pay``: pay an invoice."""
    sandbox = sandbox_of(request)
    raw = request.path_params["invoice_id"]
    invoice = sandbox.store.invoices.get(int(raw)) if raw.isdigit() else None
    if invoice is None:
        return refuse(f"Invoice {raw!r} not found", 404)
    body = await json_object(request)
    if body is None:
        return refuse("The body must be a JSON object")
    currency = body.get("pay_currency")
    try:
        outcome = _choice(body, "outcome", tuple(SEQUENCES), "finished")
        if currency is not None and (not isinstance(currency, str) or currency not in RATES):
            raise Refused(f"pay_currency {currency!r} is not one of {list(RATES)}")
        paid = _paid(body)
    except Refused as exc:
        return refuse(str(exc))
    payment = sandbox.pay(invoice, outcome, currency, paid)
    return JSONResponse(payment.as_json(), status_code=201)


async def set_status(request: Request) -> Response:
    """``POST /sandbox/payments/{id}/status``: move a payment, send one IPN."""
    payment = _payment(request)
    if payment is None:
        return refuse(f"Payment {request.path_params['payment_id']!r} not found", 404)
    body = await json_object(request)
    if body is None:
        return refuse("The body must be a JSON object")
    if "status" not in body:
        return refuse("status is required")
    try:
        status, paid = _choice(body, "status", STATUSES, ""), _paid(body)
    except Refused as exc:
        return refuse(str(exc))
    sandbox_of(request).set_status(payment, status, paid)
    return JSONResponse(payment.as_json())


async def redeposit(request: Request) -> Response:
    """``POST /sandbox/payments/{id}/redeposit``: a repeated deposit, with its IPN."""
    parent = _payment(request)
    if parent is None:
        return refuse(f"Payment {request.path_params['payment_id']!r} not found", 404)
    body = await json_object(request)
    if body is None:
        return refuse("The body must be a JSON object")
    try:
        status, paid = _choice(body, "status", REDEPOSIT_STATUSES, "finished"), _paid(body)
    except Refused as exc:
        return refuse(str(exc))
    child = sandbox_of(request).redeposit(parent, status, paid)
    return JSONResponse(child.as_json(), status_code=201)


async def settings(request: Request) -> Response:
    """``GET``/``POST /sandbox/config`` {"auto_pay"?: bool, "ipn_delay"?: number}."""
    sandbox = sandbox_of(request)
    if request.method == "POST":
        body = await json_object(request)
        if body is None:
            return refuse("The body must be a JSON object")
        auto_pay = body.get("auto_pay", sandbox.auto_pay)
        delay = body.get("ipn_delay", sandbox.payer.delay)
        if not isinstance(auto_pay, bool):
            return refuse(f"auto_pay {auto_pay!r} is not a boolean")
        if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
            return refuse(f"ipn_delay {delay!r} is not a non-negative number")
        sandbox.auto_pay, sandbox.payer.delay = auto_pay, float(delay)
    return JSONResponse({"auto_pay": sandbox.auto_pay, "ipn_delay": sandbox.payer.delay})


routes = [
    Route("/sandbox/invoices", list_invoices, methods=["GET"]),
    Route("/sandbox/invoices/{invoice_id}/pay", pay, methods=["POST"]),
    Route("/sandbox/payments/{payment_id}/status", set_status, methods=["POST"]),
    Route("/sandbox/payments/{payment_id}/redeposit", redeposit, methods=["POST"]),
    faults_route(lambda request: sandbox_of(request).faults),
    Route("/sandbox/config", settings, methods=["GET", "POST"]),
]
