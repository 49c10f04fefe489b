"""Control endpoints for tests and the demo: ``/sandbox/...`` (JSON, no authentication)."""

from collections.abc import Awaitable, Callable
from decimal import Decimal

from pydantic import JsonValue
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitloot_sandbox_common.control import faults_route, json_object, refuse
from bitloot_sandbox_kinguin.api import sandbox_of
from bitloot_sandbox_kinguin.orders import Order
from bitloot_sandbox_kinguin.store import StateError


async def ledger(request: Request) -> Response:
    """``GET /sandbox/ledger``: every order placed, with its keys and webhooks."""
    return JSONResponse([order.ledger() for order in sandbox_of(request).store.orders.values()])


async def calls(request: Request) -> Response:
    """``GET /sandbox/calls``: every API call received, as ``"METHOD /path"``, in order."""
    return JSONResponse(sandbox_of(request).calls)


async def rate(request: Request) -> Response:
    """``GET /sandbox/rate``: the rate limit a minute (0: none), when each API call
    arrived (seconds since the sandbox started) and how many were answered 429 for it."""
    return JSONResponse(sandbox_of(request).throttle.as_json())


async def purchases(request: Request) -> Response:
    """``GET /sandbox/purchases``: every purchase request (``POST /v1|v2/order``)
    received, in order, whatever was answered: the witness of buying twice."""
    return JSONResponse([purchase.as_json() for purchase in sandbox_of(request).purchases])


async def lookups(request: Request) -> Response:
    """``GET /sandbox/lookups``: every ``GET /v1/order?orderExternalId=`` received, in
    order, with how many orders it found: what a repeated purchase must follow."""
    return JSONResponse([lookup.as_json() for lookup in sandbox_of(request).lookups])


async def product_updates(request: Request) -> Response:
    """``GET /sandbox/product-updates``: every ``product.update`` webhook sent."""
    return JSONResponse([sent.as_json() for sent in sandbox_of(request).webhooks.product_updates])


def settings_json(request: Request) -> dict[str, JsonValue]:
    sandbox = sandbox_of(request)
    return {
        "webhook_url": sandbox.webhooks.url,
        "webhook_delay": sandbox.delay,
        "hold_completion": sandbox.hold,
    }


async def settings(request: Request) -> Response:
    """``GET``/``POST /sandbox/config`` {"webhook_url"?: str|null, "webhook_delay"?:
    number, "hold_completion"?: bool}; nothing changes if one is invalid."""
    sandbox = sandbox_of(request)
    if request.method == "POST":
        body = await json_object(request)
        if body is None:
            return refuse("The body must be a JSON object")
        url = body.get("webhook_url", sandbox.webhooks.url)
        delay = body.get("webhook_delay", sandbox.delay)
        hold = body.get("hold_completion", sandbox.hold)
        if url is not None and not isinstance(url, str):
            return refuse(f"webhook_url {url!r} is not a string")
        if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
            return refuse(f"webhook_delay {delay!r} is not a non-negative number")
        if not isinstance(hold, bool):
            return refuse(f"hold_completion {hold!r} is not a boolean")
        sandbox.webhooks.url, sandbox.delay, sandbox.hold = url or None, float(delay), hold
    return JSONResponse(settings_json(request))


async def stock(request: Request) -> Response:
    """``POST /sandbox/products/{productId}/stock`` {"stock": n}: set a product's stock
    (a ``product.update`` webhook follows)."""
    product_id = request.path_params["product_id"]
    body = await json_object(request)
    value = body.get("stock") if body is not None else None
    if product_id not in sandbox_of(request).store.products:
        return refuse(f"Product {product_id!r} not found", 404)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return refuse("stock must be a non-negative integer")
    sandbox_of(request).change_product(product_id, stock=value)
    return JSONResponse({"productId": product_id, "stock": value})


async def price(request: Request) -> Response:
    """``POST /sandbox/products/{productId}/price`` {"price": number}: set a product's
    price in EUR (a ``product.update`` webhook follows)."""
    product_id = request.path_params["product_id"]
    body = await json_object(request)
    value = body.get("price") if body is not None else None
    if product_id not in sandbox_of(request).store.products:
        return refuse(f"Product {product_id!r} not found", 404)
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        return refuse("price must be a positive number")
    amount = Decimal(str(value))
    if not amount.is_finite():
        return refuse("price must be a positive number")
    sandbox_of(request).change_product(product_id, price=amount)
    return JSONResponse({"productId": product_id, "price": float(amount)})


async def release(request: Request) -> Response:
    """``POST /sandbox/products/{productId}/release``: the preorder product is released;
    every preorder order waiting for it is completed (keys delivered, webhook sent)."""
    product_id = request.path_params["product_id"]
    if product_id not in sandbox_of(request).store.products:
        return refuse(f"Product {product_id!r} not found", 404)
    completed = sandbox_of(request).release(product_id)
    return JSONResponse({"productId": product_id, "completed": [o.order_id for o in completed]})


def order_action(
    act: Callable[[Request, Order], None],
) -> Callable[[Request], Awaitable[Response]]:
    """A control endpoint moving the order named in the path; 404 for an unknown order,
    409 when its status does not allow the move. Answers the order's ledger entry."""

    async def endpoint(request: Request) -> Response:
        order_id = request.path_params["order_id"]
        order = sandbox_of(request).store.orders.get(order_id)
        if order is None:
            return refuse(f"Order {order_id!r} not found", 404)
        try:
            act(request, order)
        except StateError as exc:
            return refuse(str(exc), 409)
        return JSONResponse(order.ledger())

    return endpoint


routes = [
    Route("/sandbox/ledger", ledger, methods=["GET"]),
    Route("/sandbox/calls", calls, methods=["GET"]),
    Route("/sandbox/rate", rate, methods=["GET"]),
    Route("/sandbox/purchases", purchases, methods=["GET"]),
    Route("/sandbox/lookups", lookups, methods=["GET"]),
    Route("/sandbox/product-updates", product_updates, methods=["GET"]),
    faults_route(lambda request: sandbox_of(request).faults),
    Route("/sandbox/config", settings, methods=["GET", "POST"]),
    Route("/sandbox/products/{product_id}/stock", stock, methods=["POST"]),
    Route("/sandbox/products/{product_id}/price", price, methods=["POST"]),
    Route("/sandbox/products/{product_id}/release", release, methods=["POST"]),
    Route(
        "/sandbox/orders/{order_id}/complete",
        order_action(lambda request, order: sandbox_of(request).complete(order)),
        methods=["POST"],
    ),
    Route(
        "/sandbox/orders/{order_id}/cancel",
        order_action(lambda request, order: sandbox_of(request).cancel(order)),
        methods=["POST"],
    ),
    Route(
        "/sandbox/orders/{order_id}/refund",
        order_action(lambda request, order: sandbox_of(request).refund(order)),
        methods=["POST"],
    ),
]
