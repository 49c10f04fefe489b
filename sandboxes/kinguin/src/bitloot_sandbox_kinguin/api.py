"""The Kinguin eCommerce API: ``/v1``, ``/v2`` with its authentication, errors and faults."""

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from functools import wraps

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitloot_sandbox_kinguin.config import ProductSpec
from bitloot_sandbox_kinguin.sandbox import KinguinError, KinguinSandbox, Requested
from bitloot_sandbox_kinguin.store import Order, money

Endpoint = Callable[[Request], Awaitable[Response]]
MAX_PRODUCTS = 10
MAX_QTY = 9


def error(status: int, kind: str, title: str, detail: str) -> JSONResponse:
    """Kinguin's error body."""
    body = {"kind": kind, "status": status, "title": title, "detail": detail}
    headers = {"Retry-After": "1"} if status == 429 else None
    return JSONResponse(body, status_code=status, headers=headers)


def invalid(detail: str) -> KinguinError:
    """A request that breaks the API's constraints."""
    return KinguinError(400, "ConstraintViolation", "Constraint violation", detail)


def sandbox_of(request: Request) -> KinguinSandbox:
    """The sandbox serving `request`."""
    sandbox: KinguinSandbox = request.app.state.sandbox
    return sandbox


def api(handler: Endpoint) -> Endpoint:
    """Injected faults first, then the ``X-Api-Key`` check, then `handler`."""

    @wraps(handler)
    async def endpoint(request: Request) -> Response:
        sandbox = sandbox_of(request)
        sandbox.calls.append(f"{request.method} {request.url.path}")
        fault = sandbox.faults.take_api_fault()
        if fault == 429:
            return error(429, "TooManyRequests", "Too Many Requests", "Rate limit exceeded")
        if fault == 503:
            return error(503, "ServiceUnavailable", "Service Unavailable", "Try again later")
        if request.headers.get("x-api-key") != sandbox.config.api_key:
            return error(401, "Unauthorized", "Unauthorized", "Invalid or missing API key")
        try:
            return await handler(request)
        except KinguinError as exc:
            return error(exc.status, exc.kind, exc.title, exc.detail)

    return endpoint


def product_json(product_id: str, spec: ProductSpec) -> dict[str, object]:
    """The Product Object (the fields the sandbox knows)."""
    return {
        "kinguinId": spec.kinguin_id,
        "productId": product_id,
        "cheapestOfferId": [spec.offer_id],
        "name": spec.name,
        "originalName": spec.name,
        "qty": spec.stock,
        "price": money(spec.price),
        "textQty": spec.stock,
        "offers": [{"offerId": spec.offer_id, "price": money(spec.price), "qty": spec.stock}],
        "offersCount": 1,
        "totalQty": spec.stock,
        "isPreorder": False,
    }


def not_found(what: str) -> KinguinError:
    return KinguinError(404, "NotFound", "Not Found", f"{what} not found")


@api
async def get_product_v1(request: Request) -> Response:
    """``GET /v1/products/{kinguinId}``: by the integer id only."""
    raw = request.path_params["kinguin_id"]
    products = sandbox_of(request).store.products
    found = [
        (product_id, spec)
        for product_id, spec in products.items()
        if raw.isdigit() and spec.kinguin_id == int(raw)
    ]
    if not found:
        raise not_found(f"Product {raw}")
    return JSONResponse(product_json(*found[0]))


@api
async def get_product_v2(request: Request) -> Response:
    """``GET /v2/products/{productId}``: by the string id."""
    product_id = request.path_params["product_id"]
    spec = sandbox_of(request).store.products.get(product_id)
    if spec is None:
        raise not_found(f"Product {product_id}")
    return JSONResponse(product_json(product_id, spec))


@api
async def get_balance(request: Request) -> Response:
    """``GET /v1/balance``: ``{"balance": float}`` in EUR."""
    return JSONResponse({"balance": money(sandbox_of(request).store.balance)})


@api
async def place_order(request: Request) -> Response:
    """``POST /v2/order`` {products: [{productId, qty, price}], orderExternalId}."""
    try:
        body = await request.json()
    except ValueError:
        raise invalid("The body is not valid JSON") from None
    if not isinstance(body, dict):
        raise invalid("The body must be a JSON object")
    external_id = body.get("orderExternalId")
    if external_id is not None and not isinstance(external_id, str):
        raise invalid("orderExternalId must be a string")
    sandbox = sandbox_of(request)
    order = sandbox.place_order(parse_products(body.get("products")), external_id)
    answer = order.as_json()
    if sandbox.faults.hold_order_answer_seconds:
        await asyncio.sleep(sandbox.faults.hold_order_answer_seconds)
    return JSONResponse(answer, status_code=201)


def parse_products(value: object) -> list[Requested]:
    """The requested products: 1 to 10 distinct products, 1 to 9 units each."""
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_PRODUCTS:
        raise invalid(f"products must list 1 to {MAX_PRODUCTS} products")
    requested = [parse_product(item) for item in value]
    if len({item.product_id for item in requested}) != len(requested):
        raise invalid("products must not list a product twice")
    return requested


def parse_product(item: object) -> Requested:
    """One ``{productId, qty, price}``; `price` (the most the buyer pays) is optional."""
    if not isinstance(item, dict) or not isinstance(item.get("productId"), str):
        raise invalid("each product needs a productId")
    qty = item.get("qty")
    if isinstance(qty, bool) or not isinstance(qty, int) or not 1 <= qty <= MAX_QTY:
        raise invalid(f"qty of {item['productId']} must be an integer from 1 to {MAX_QTY}")
    price = item.get("price")
    if price is None:
        return Requested(item["productId"], qty, None)
    try:
        if isinstance(price, bool) or not isinstance(price, int | float | str):
            raise InvalidOperation
        parsed = Decimal(str(price))
    except InvalidOperation:
        raise invalid(f"price of {item['productId']} must be a number") from None
    if not parsed.is_finite() or parsed <= 0:
        raise invalid(f"price of {item['productId']} must be positive")
    return Requested(item["productId"], qty, parsed)


def page_params(request: Request) -> tuple[int, int]:
    """``page`` (from 1) and ``limit`` (1 to 100, default 25)."""
    try:
        page = int(request.query_params.get("page", "1"))
        limit = int(request.query_params.get("limit", "25"))
    except ValueError:
        raise invalid("page and limit must be integers") from None
    if page < 1 or not 1 <= limit <= 100:
        raise invalid("page must be at least 1 and limit from 1 to 100")
    return page, limit


@api
async def search_orders(request: Request) -> Response:
    """``GET /v1/order?orderExternalId=&status=&page=&limit=``: newest first."""
    page, limit = page_params(request)
    external_id = request.query_params.get("orderExternalId")
    status = request.query_params.get("status")
    orders = [
        order
        for order in reversed(sandbox_of(request).store.orders.values())
        if (external_id is None or order.order_external_id == external_id)
        and (status is None or order.status == status)
    ]
    results = orders[(page - 1) * limit : page * limit]
    return JSONResponse({"results": [o.as_json() for o in results], "item_count": len(orders)})


def find_order(request: Request) -> Order:
    """The order named in the path, or Kinguin's 404."""
    order_id = request.path_params["order_id"]
    order = sandbox_of(request).store.orders.get(order_id)
    if order is None:
        raise KinguinError(404, "NotFound", "Not Found", f"Order {order_id} not found")
    return order


@api
async def get_order(request: Request) -> Response:
    """``GET /v1/order/{orderId}``."""
    return JSONResponse(find_order(request).as_json())


@api
async def order_keys(request: Request) -> Response:
    """``GET /v2/order/{orderId}/keys?page=&limit=``: a page of keys, once completed."""
    order = find_order(request)
    page, limit = page_params(request)
    if order.status != "completed":
        raise KinguinError(
            400,
            "OrderNotCompleted",
            "Order not completed",
            f"Order {order.order_id} is {order.status}",
        )
    keys = order.keys[(page - 1) * limit : page * limit]
    return JSONResponse([key.as_json() for key in keys])


routes = [
    Route("/v1/products/{kinguin_id}", get_product_v1, methods=["GET"]),
    Route("/v2/products/{product_id}", get_product_v2, methods=["GET"]),
    Route("/v1/balance", get_balance, methods=["GET"]),
    Route("/v2/order", place_order, methods=["POST"]),
    Route("/v1/order", search_orders, methods=["GET"]),
    Route("/v1/order/{order_id}", get_order, methods=["GET"]),
    Route("/v2/order/{order_id}/keys", order_keys, methods=["GET"]),
]
