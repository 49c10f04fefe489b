"""Control endpoints for tests and the demo: ``/sandbox/...`` (JSON, no authentication)."""

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitloot_sandbox_common.control import faults_route, json_object, refuse
from bitloot_sandbox_nowpayments.endpoint import sandbox_of
from bitloot_sandbox_nowpayments.store import RATES, SEQUENCES


async def list_invoices(request: Request) -> Response:
    """``GET /sandbox/invoices``: every invoice with its payments and the IPNs sent."""
    return JSONResponse([i.ledger() for i in sandbox_of(request).store.invoices.values()])


async def pay(request: Request) -> Response:
    """``POST /sandbox/invoices/{id}/pay`` {"outcome"?, "pay_currency"?}: pay an invoice."""
    sandbox = sandbox_of(request)
    raw = request.path_params["invoice_id"]
    invoice = sandbox.store.invoices.get(int(raw)) if raw.isdigit() else None
    if invoice is None:
        return refuse(f"Invoice {raw!r} not found", 404)
    body = await json_object(request)
    if body is None:
        return refuse("The body must be a JSON object")
    outcome = body.get("outcome", "finished")
    currency = body.get("pay_currency")
    if not isinstance(outcome, str) or outcome not in SEQUENCES:
        return refuse(f"outcome {outcome!r} is not one of {list(SEQUENCES)}")
    if currency is not None and (not isinstance(currency, str) or currency not in RATES):
        return refuse(f"pay_currency {currency!r} is not one of {list(RATES)}")
    payment = sandbox.pay(invoice, outcome, currency)
    return JSONResponse(payment.as_json(), status_code=201)


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
    faults_route(lambda request: sandbox_of(request).faults),
    Route("/sandbox/config", settings, methods=["GET", "POST"]),
]
