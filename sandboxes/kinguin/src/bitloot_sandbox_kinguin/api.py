"""The Kinguin eCommerce API: ``/v1``, ``/v2`` with its authentication, errors and faults."""

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import wraps
from http import HTTPStatus

from pydantic import JsonValue
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitloot_sandbox_kinguin.config import ProductSpec
from bitloot_sandbox_kinguin.orders import Json, Order, money, seconds
from bitloot_sandbox_kinguin.parsing import (
    invalid,
    moment,
    order_filter,
    page_params,
    parse_products,
)
from bitloot_sandbox_kinguin.products import (
    ALL_GENRES,
    PLATFORMS,
    REGIONS,
    matches,
    product_json,
)
from bitloot_sandbox_kinguin.sandbox import KinguinError, KinguinSandbox, Lookup, Purchase
from bitloot_sandbox_kinguin.store import StateError

Endpoint = Callable[[Request], Awaitable[Response]]


def error(
    request: Request,
    exc: KinguinError,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Kinguin's error body (api/ErrorsCodes.md)."""
    body: dict[str, JsonValue] = {
        "kind": exc.kind,
        "status": exc.status,
        "title": HTTPStatus(exc.status).phrase,
        "detail": exc.detail,
        "path": request.url.path,
        "method": request.method,
        "trace": secrets.token_hex(5),
        "timestamp": seconds(datetime.now(UTC)),
    }
    if exc.property_path is not None:
        body |= {"propertyPath": exc.property_path, "invalidValue": exc.invalid_value}
    return JSONResponse(body, status_code=exc.status, headers=headers)


def sandbox_of(request: Request) -> KinguinSandbox:
    """The sandbox serving `request`."""
    sandbox: KinguinSandbox = request.app.state.sandbox
    return sandbox


RATE_LIMITED = KinguinError(429, "Http", "Rate limit exceeded")
UNAVAILABLE = KinguinError(503, "HttpClient", "Internal request failed, try again later")
UNAUTHORIZED = KinguinError(401, "Authorization", "Invalid or missing API key")


def api(handler: Endpoint) -> Endpoint:
    """Injected faults first, then the ``X-Api-Key`` check, then the rate limit, then
    `handler`."""

    @wraps(handler)
    async def endpoint(request: Request) -> Response:
        sandbox = sandbox_of(request)
        sandbox.calls.append(f"{request.method} {request.url.path}")
        fault = sandbox.faults.take_api_fault()
        if fault == 429:
            return error(request, RATE_LIMITED, {"Retry-After": "1"})
        if fault == 503:
            return error(request, UNAVAILABLE)
        if request.headers.get("x-api-key") != sandbox.config.api_key:
            return error(request, UNAUTHORIZED)
        if (wait := sandbox.throttle.admit()) is not None:
            return error(request, RATE_LIMITED, {"Retry-After": str(wait)})
        try:
            return await handler(request)
        except KinguinError as exc:
            return error(request, exc)

    return endpoint


def product_answer(request: Request, product_id: str) -> Response:
    store = sandbox_of(request).store
    spec = store.products[product_id]
    return JSONResponse(product_json(product_id, spec, store.product_updated_at[product_id]))


def product_not_found(raw: str) -> KinguinError:
    return KinguinError(404, "Http", f"Product {raw} not found")


@api
async def get_product_v1(request: Request) -> Response:
    """``GET /v1/products/{kinguinId}``: by the integer id only."""
    raw = request.path_params["kinguin_id"]
    products = sandbox_of(request).store.products
    found = [
        product_id
        for product_id, spec in products.items()
        if raw.isdigit() and spec.kinguin_id == int(raw)
    ]
    if not found:
        raise product_not_found(raw)
    return product_answer(request, found[0])


@api
async def get_product_v2(request: Request) -> Response:
    """``GET /v2/products/{productId}``: by the string id."""
    product_id = request.path_params["product_id"]
    if product_id not in sandbox_of(request).store.products:
        raise product_not_found(product_id)
    return product_answer(request, product_id)


@api
async def search_products(request: Request) -> Response:
    """``GET /v1/products`` with the documented filters, paged: ``{"results",
    "item_count"}`` (sorted by ``sortBy`` ``kinguinId`` or ``updatedAt``, ``sortType``)."""
    query = request.query_params
    page, limit = page_params(query)
    store = sandbox_of(request).store
    since = moment("updatedSince", query["updatedSince"]) if "updatedSince" in query else None
    until = moment("updatedTo", query["updatedTo"]) if "updatedTo" in query else None
    found = []
    for product_id, spec in store.products.items():
        updated = store.product_updated_at[product_id]
        try:
            matched = matches(product_id, spec, query)
        except ValueError as exc:
            raise invalid(f"{exc} is not a valid filter", str(exc), query[str(exc)]) from None
        if matched and (since is None or updated >= since) and (until is None or updated <= until):
            found.append((product_id, spec, updated))
    sort_by, sort_type = query.get("sortBy", "kinguinId"), query.get("sortType", "asc")
    if sort_by not in SORT_FIELDS or sort_type not in ("asc", "desc"):
        raise invalid("sortBy or sortType is not a documented value", "sortBy", sort_by)
    found.sort(key=SORT_FIELDS[sort_by], reverse=sort_type == "desc")
    results = [product_json(*item) for item in found[(page - 1) * limit : page * limit]]
    return JSONResponse({"results": results, "item_count": len(found)})


# The documented sort fields (the docs spell kinguinId "kingiunId"; both are accepted).
SORT_FIELDS: dict[str, Callable[[tuple[str, ProductSpec, datetime]], int | datetime]] = {
    "kinguinId": lambda item: item[1].kinguin_id,
    "kingiunId": lambda item: item[1].kinguin_id,
    "updatedAt": lambda item: item[2],
}


def listing(values: list[Json] | list[str]) -> Endpoint:
    """``GET /v1/regions``, ``/v1/platforms``, ``/v1/genres``: a fixed list."""

    async def endpoint(request: Request) -> Response:
        return JSONResponse(values)

    return api(endpoint)


@api
async def get_balance(request: Request) -> Response:
    """``GET /v1/balance``: ``{"balance": float}`` in EUR."""
    return JSONResponse({"balance": money(sandbox_of(request).store.balance)})


def purchase_recorded(handler: Endpoint) -> Endpoint:
    """Every purchase request in the sandbox's purchase ledger before anything else (a
    rate-limited or refused one too), with the status answered and the order placed."""

    @wraps(handler)
    async def endpoint(request: Request) -> Response:
        purchase = Purchase.of(request.url.path, await request.body())
        sandbox_of(request).purchases.append(purchase)
        response = await handler(request)
        purchase.status = response.status_code
        purchase.answered_at = datetime.now(UTC)
        if response.status_code == 201:
            purchase.order_id = str(json.loads(bytes(response.body))["orderId"])
        return response

    return endpoint


@purchase_recorded
@api
async def place_order(request: Request) -> Response:
    """``POST /v2/order`` {products: [{productId, qty, price, keyType?, offerId?}],
    orderExternalId?}: 201 and the Order Object."""
    return await placed(request, by_kinguin_id=None)


@purchase_recorded
@api
async def place_order_v1(request: Request) -> Response:
    """``POST /v1/order``: as v2, the products named by their integer ``kinguinId``."""
    products = sandbox_of(request).store.products
    by_kinguin_id = {spec.kinguin_id: product_id for product_id, spec in products.items()}
    return await placed(request, by_kinguin_id=by_kinguin_id)


async def placed(request: Request, by_kinguin_id: dict[int, str] | None) -> Response:
    try:
        body = await request.json()
    except ValueError:
        raise invalid("The body is not valid JSON", "", None) from None
    if not isinstance(body, dict):
        raise invalid("The body must be a JSON object", "", None)
    external_id = body.get("orderExternalId")
    if external_id is not None and not isinstance(external_id, str):
        raise invalid("orderExternalId must be a string", "orderExternalId", external_id)
    sandbox = sandbox_of(request)
    requested = parse_products(body.get("products"), by_kinguin_id)
    if sandbox.faults.delay_order_seconds:
        await asyncio.sleep(sandbox.faults.delay_order_seconds)
    order = sandbox.place_order(requested, external_id)
    answer = order.as_json(with_keys=False)
    if sandbox.faults.hold_order_answer_seconds:
        await asyncio.sleep(sandbox.faults.hold_order_answer_seconds)
    return JSONResponse(answer, status_code=201)


@api
async def search_orders(request: Request) -> Response:
    """``GET /v1/order`` with the documented filters: ``{"results", "item_count"}``,
    newest first."""
    page, limit = page_params(request.query_params)
    wanted = order_filter(request.query_params)
    orders = [o for o in reversed(sandbox_of(request).store.orders.values()) if wanted(o)]
    results = orders[(page - 1) * limit : page * limit]
    if (external_id := request.query_params.get("orderExternalId")) is not None:
        lookup = Lookup(datetime.now(UTC), external_id, len(orders))
        sandbox_of(request).lookups.append(lookup)
    return JSONResponse({"results": [o.as_json() for o in results], "item_count": len(orders)})


def find_order(request: Request) -> Order:
    """The order named in the path, or Kinguin's 404 ``OrderNotFound``."""
    order_id = request.path_params["order_id"]
    order = sandbox_of(request).store.orders.get(order_id)
    if order is None:
        raise KinguinError(404, "OrderNotFound", f"Order {order_id} not found")
    return order


@api
async def get_order(request: Request) -> Response:
    """``GET /v1/order/{orderId}``: the Order Object."""
    return JSONResponse(find_order(request).as_json())


@api
async def order_keys(request: Request) -> Response:
    """``GET /v2/order/{orderId}/keys?page=&limit=``: a page of the keys delivered so far
    (none while the order is processing or if it was canceled)."""
    order = find_order(request)
    page, limit = page_params(request.query_params)
    keys = order.keys[(page - 1) * limit : page * limit]
    return JSONResponse([key.as_json() for key in keys])


@api
async def return_keys(request: Request) -> Response:
    """``POST /v2/order/{orderId}/keys/return``: ``[{id, status}]`` of the keys returned
    (as they were when asked); 400 ``NoKeysToReturn`` when the order has none to return."""
    order = find_order(request)
    sandbox = sandbox_of(request)
    try:
        returned = sandbox.store.return_keys(order)
    except StateError as exc:
        raise KinguinError(400, "NoKeysToReturn", str(exc)) from None
    if sandbox.faults.hold_return_answer_seconds:
        await asyncio.sleep(sandbox.faults.hold_return_answer_seconds)
    return JSONResponse([slot.as_json() for slot in returned])


routes = [
    Route("/v1/products", search_products, methods=["GET"]),
    Route("/v1/products/{kinguin_id}", get_product_v1, methods=["GET"]),
    Route("/v2/products/{product_id}", get_product_v2, methods=["GET"]),
    Route("/v1/regions", listing(REGIONS), methods=["GET"]),
    Route("/v1/platforms", listing(PLATFORMS), methods=["GET"]),
    Route("/v1/genres", listing(ALL_GENRES), methods=["GET"]),
    Route("/v1/balance", get_balance, methods=["GET"]),
    Route("/v1/order", place_order_v1, methods=["POST"]),
    Route("/v2/order", place_order, methods=["POST"]),
    Route("/v1/order", search_orders, methods=["GET"]),
    Route("/v1/order/{order_id}", get_order, methods=["GET"]),
    Route("/v2/order/{order_id}/keys", order_keys, methods=["GET"]),
    Route("/v2/order/{order_id}/keys/return", return_keys, methods=["POST"]),
]
