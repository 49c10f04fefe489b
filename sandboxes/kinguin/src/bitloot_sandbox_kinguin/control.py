"""Control endpoints for tests and the demo: ``/sandbox/...`` (JSON, no authentication)."""

from dataclasses import replace

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitloot_sandbox_common.control import faults_route, json_object, refuse
from bitloot_sandbox_kinguin.api import sandbox_of


async def ledger(request: Request) -> Response:
    """``GET /sandbox/ledger``: every order placed, with its keys and webhooks."""
    return JSONResponse([order.ledger() for order in sandbox_of(request).store.orders.values()])


async def calls(request: Request) -> Response:
    """``GET /sandbox/calls``: every API call received, as ``"METHOD /path"``, in order."""
    return JSONResponse(sandbox_of(request).calls)


async def settings(request: Request) -> Response:
    """``GET``/``POST /sandbox/config`` {"webhook_url"?: str|null, "webhook_delay"?: number}."""
    completer = sandbox_of(request).completer
    if request.method == "POST":
        body = await json_object(request)
        if body is None:
            return refuse("The body must be a JSON object")
        url = body.get("webhook_url", completer.webhook_url)
        delay = body.get("webhook_delay", completer.delay)
        if url is not None and not isinstance(url, str):
            return refuse(f"webhook_url {url!r} is not a string")
        if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
            return refuse(f"webhook_delay {delay!r} is not a non-negative number")
        completer.webhook_url, completer.delay = url or None, float(delay)
    return JSONResponse({"webhook_url": completer.webhook_url, "webhook_delay": completer.delay})


async def stock(request: Request) -> Response:
    """``POST /sandbox/products/{productId}/stock`` {"stock": n}: set a product's stock."""
    products = sandbox_of(request).store.products
    product_id = request.path_params["product_id"]
    body = await json_object(request)
    value = body.get("stock") if body is not None else None
    if product_id not in products:
        return refuse(f"Product {product_id!r} not found", 404)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return refuse("stock must be a non-negative integer")
    products[product_id] = replace(products[product_id], stock=value)
    return JSONResponse({"productId": product_id, "stock": value})


routes = [
    Route("/sandbox/ledger", ledger, methods=["GET"]),
    Route("/sandbox/calls", calls, methods=["GET"]),
    faults_route(lambda request: sandbox_of(request).faults),
    Route("/sandbox/config", settings, methods=["GET", "POST"]),
    Route("/sandbox/products/{product_id}/stock", stock, methods=["POST"]),
]
