"""The payments service's internal API, for the admin service (token checked by the
runtime's middleware): orders, their timelines, and the catalog."""

from datetime import datetime
from decimal import Decimal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitloot_contracts.events.fields import CurrencyCode, Identifier
from bitloot_contracts.order_filters import ORDER_FILTERS
from bitloot_payments.adapters.catalog import Product
from bitloot_payments.adapters.orders import OrderQuery
from bitloot_payments.domain.email_address import EmailRule
from bitloot_payments.entrypoints import cursors
from bitloot_payments.entrypoints.internal_flags import flag_routes
from bitloot_payments.entrypoints.internal_payments import payment_routes
from bitloot_payments.entrypoints.internal_refunds import refund_routes
from bitloot_payments.entrypoints.views import (
    lines_json,
    order_json,
    product_json,
    refund_json,
    utc,
)
from bitloot_payments.handlers.queries import Queries
from bitloot_payments.handlers.refund_decisions import DecideRefund
from bitloot_payments.handlers.resolve_flags import DecideFlag, ReplayIpn
from bitloot_runtime.http import HttpError, parse_body, read_json
from bitloot_runtime.internal import page_limit


class ProductBody(BaseModel):
    """``PUT /internal/products/{sku}``: the whole product."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300)
    kinguin_product_id: Identifier
    price: Decimal = Field(gt=0, max_digits=18, decimal_places=8, allow_inf_nan=False)
    currency: CurrencyCode
    max_purchase_price: Decimal = Field(ge=0, max_digits=18, decimal_places=8, allow_inf_nan=False)
    active: bool = True
    platform: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Where the keys are redeemed, as Kinguin names it (its product's "
        "`platform`, e.g. Steam, GOG, Epic Games, Xbox, PlayStation): the reveal page's "
        "redemption help. Null: the general help.",
    )


def _order_cursor(request: Request) -> tuple[datetime, UUID] | None:
    """``cursor`` (stable: created_at and order id of the last order seen) or, as before
    it existed, ``before`` (a time: orders created strictly earlier)."""
    after = cursors.decode(request)
    if after is not None:
        try:
            return after[0], UUID(after[1])
        except ValueError:
            raise HttpError(422, "invalid_cursor", "cursor is not one this API returned.") from None
    before = cursors.moment(request, "before")
    # No order id sorts below the nil UUID: every order created at `before` is left out.
    return (before, UUID(int=0)) if before is not None else None


def order_query(request: Request, emails: EmailRule) -> OrderQuery:
    """The filters of ``/internal/orders``: ``email`` (normalised as checkout stored it,
    `EmailRule`), ``status`` (the order's own, as
    before) and those of `ORDER_FILTERS`, each one of its known values, else 422
    ``invalid_<name>`` naming the field, so that a typo never answers "no orders"."""
    query = request.query_params
    chosen: dict[str, str | None] = {}
    for name, known in ORDER_FILTERS.items():
        raw = query.get(name) or None
        if raw is not None and raw not in known:
            raise HttpError(
                422,
                f"invalid_{name}",
                f"{name} must be one of {', '.join(known)}, not {raw[:64]!r}.",
                [{"field": name, "code": "invalid", "error": f"{name} is not a known value"}],
            )
        chosen[name] = raw
    return OrderQuery(
        email=emails.normalise_loosely(email) if (email := query.get("email")) else None,
        status=query.get("status"),
        payment=chosen["payment"],
        fulfilment=chosen["fulfilment"],
        refund=chosen["refund"],
        customer=chosen["customer"],
        preset=chosen["preset"],
    )


def internal_routes(
    queries: Queries,
    decisions: tuple[DecideFlag, ReplayIpn],
    refund_decisions: DecideRefund,
    emails: EmailRule,
) -> list[Route]:
    """The payments part of ``/internal/*`` (see the shared spec)."""

    async def orders(request: Request) -> Response:
        limit = page_limit(request)
        found = await queries.orders(
            order_query(request, emails), limit=limit, after=_order_cursor(request)
        )
        last = found.after
        return JSONResponse(
            {
                "items": [
                    {
                        **order_json(o.order),
                        "fulfilment_state": o.order.fulfilment_state,
                        "refund_status": o.refunds[-1].status if o.refunds else None,
                        "customer_status": o.customer_status,
                    }
                    for o in found.items
                ],
                "next": utc(last[0]) if last else None,
                "cursor": cursors.encode(last[0], str(last[1])) if last else None,
            }
        )

    async def order(request: Request) -> Response:
        order_id: UUID = request.path_params["order_id"]
        found = await queries.customer_order(order_id)
        if found is None:
            raise HttpError(404, "order_not_found", f"No order {order_id}.")
        return JSONResponse(
            {
                **order_json(found.order),
                "lines": lines_json(found.lines, titled=True),
                "fulfilment_state": found.order.fulfilment_state,
                "key_email_confirmed": found.order.key_email_confirmed,
                "customer_status": found.customer_status,
                "refunds": [refund_json(refund) for refund in found.refunds],
            }
        )

    async def timeline(request: Request) -> Response:
        order_id: UUID = request.path_params["order_id"]
        items = [
            {
                "at": utc(item.at),
                "kind": item.kind,
                "summary": item.summary,
                "data": item.data,
            }
            for item in await queries.timeline(order_id)
        ]
        return JSONResponse({"order_id": str(order_id), "items": items})

    async def put_product(request: Request) -> Response:
        sku = request.path_params["sku"]
        if not 1 <= len(sku) <= 128:
            raise HttpError(422, "invalid_sku", "A sku has 1 to 128 characters.")
        _raw, document = await read_json(request)
        body = parse_body(ProductBody, document)
        saved = await queries.save_product(Product(sku=sku, **body.model_dump()))
        return JSONResponse(product_json(saved))

    async def products(_request: Request) -> Response:
        return JSONResponse({"items": [product_json(p) for p in await queries.products()]})

    return [
        *payment_routes(queries),
        *flag_routes(queries, decisions),
        *refund_routes(queries, refund_decisions),
        Route("/internal/orders", orders, methods=["GET"]),
        Route("/internal/orders/{order_id:uuid}", order, methods=["GET"]),
        Route("/internal/orders/{order_id:uuid}/timeline", timeline, methods=["GET"]),
        Route("/internal/products", products, methods=["GET"]),
        Route("/internal/products/{sku}", put_product, methods=["PUT"]),
    ]
