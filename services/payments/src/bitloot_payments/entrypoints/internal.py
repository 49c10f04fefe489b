"""The payments service's internal API, for the admin service (token checked by the
runtime's middleware): orders, their timelines, and the catalog here; payments and
IPNs, flags, refunds and figures in the modules `ROUTES` gathers."""

from datetime import UTC
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationInfo, field_validator
from starlette.requests import Request
from starlette.responses import Response

from bitloot_contracts.customer import CustomerStatus
from bitloot_contracts.events.fields import CurrencyCode, Identifier
from bitloot_contracts.order_filters import ORDER_FILTERS
from bitloot_payments.adapters.catalog import Product
from bitloot_payments.adapters.orders import OrderQuery
from bitloot_payments.entrypoints import (
    internal_flags,
    internal_payments,
    internal_refunds,
    internal_stats,
)
from bitloot_payments.entrypoints.edge import Edge, read
from bitloot_payments.entrypoints.listing import TimePageQuery, time_cursor
from bitloot_payments.entrypoints.views import (
    FULFILMENT_STATE,
    OrderItem,
    ProductItem,
    Products,
    RefundItem,
    TitledLine,
    refund_item,
    utc,
)
from bitloot_payments.handlers.queries import CustomerOrder
from bitloot_runtime.app import dependencies
from bitloot_runtime.http import HttpError, IsoTime, answer, parse_body, parse_query, read_json
from bitloot_runtime.internal import Timeline, TimelineEvent
from bitloot_runtime.openapi import BODY_ERRORS, ApiRoute


def _filter(name: str, description: str) -> Any:
    extra: dict[str, JsonValue] = {"enum": list(ORDER_FILTERS[name])}
    return Field(None, description=description, json_schema_extra=extra)


class OrderListQuery(TimePageQuery):
    """``GET /internal/orders``: ``email`` (normalised as checkout stored it), ``status``
    (the order's own) and the filters of `ORDER_FILTERS`, each one of its known values,
    else 422 ``invalid_<name>``, so that a typo never answers "no orders"; an empty one
    is no filter. ``cursor`` pages; ``before`` (a time), as before it, too."""

    email: str | None = None
    status: str | None = Field(
        None, description="The order's own status (created, invoiced, paid, …)."
    )
    payment: str | None = _filter("payment", "NOWPayments' status of the order's payment.")
    fulfilment: str | None = _filter("fulfilment", "The saga's state (`fulfilment_state`).")
    refund: str | None = _filter("refund", "Orders with a refund in this status.")
    customer: str | None = _filter(
        "customer",
        "What the customer is told (`customer_status`); a page may then hold fewer than "
        "`limit` orders and still have a `cursor`.",
    )
    preset: str | None = _filter(
        "preset",
        "`needs_action`: waits for an admin (open flag, refund claimed or failed, failed "
        "with no refund, stuck); `failed`: fulfilment failed; `stuck`: paid, fulfilment not "
        "ended after `PAYMENTS_STUCK_AFTER_SECONDS`; `refund_due`: money owed back, not sent.",
    )
    before: IsoTime | None = Field(None, description="Orders created strictly earlier.")

    @field_validator("email", *ORDER_FILTERS, mode="before")
    @classmethod
    def _empty_is_none(cls, raw: object) -> object:
        return raw or None

    @field_validator(*ORDER_FILTERS)
    @classmethod
    def _known(cls, value: str | None, info: ValidationInfo) -> str | None:
        known = ORDER_FILTERS[str(info.field_name)]
        if value is not None and value not in known:
            raise ValueError(f"{info.field_name} must be one of {', '.join(known)}")
        return value


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


class AdminOrder(OrderItem):
    fulfilment_state: str | None
    customer_status: CustomerStatus


class OrderRow(AdminOrder):
    refund_status: str | None = Field(description="The newest refund's.")


class OrderList(BaseModel):
    """A page of orders: `cursor` is the next page's; `next`, the time to pass as
    `before` (as before the cursor: orders created at that time are then left out)."""

    items: list[OrderRow]
    next: str | None
    cursor: str | None


class OrderDetail(AdminOrder):
    lines: list[TitledLine]
    key_email_confirmed: bool | None
    refunds: list[RefundItem]


def _row(found: CustomerOrder) -> OrderRow:
    order = found.order
    return OrderRow.model_validate(
        {
            **vars(order),
            "refund_status": found.refunds[-1].status if found.refunds else None,
            "customer_status": found.customer_status,
        }
    )


async def orders(request: Request) -> Response:
    query = parse_query(OrderListQuery, request)
    edge = dependencies(request, Edge)
    start = query.after(UUID)
    if start is None and query.before is not None:
        # No order id sorts below the nil UUID: every order created at `before` is left out.
        start = (query.before, UUID(int=0))
    email = edge.emails.normalise_loosely(query.email) if query.email else None
    which = OrderQuery(email=email, **query.model_dump(include={"status", *ORDER_FILTERS}))
    found = await edge.list_orders(which, limit=query.limit, after=start)
    last = found.after
    return answer(
        OrderList(
            items=[_row(o) for o in found.items],
            next=utc(last[0]) if last else None,
            cursor=time_cursor(last[0], str(last[1])) if last else None,
        )
    )


async def order(request: Request) -> Response:
    order_id: UUID = request.path_params["order_id"]
    found = await dependencies(request, Edge).read_order(order_id)
    if found is None:
        raise HttpError(404, "order_not_found", f"No order {order_id}.")
    detail = {
        **vars(found.order),
        "lines": found.lines,
        "customer_status": found.customer_status,
        "refunds": [refund_item(refund) for refund in found.refunds],
    }
    return answer(OrderDetail.model_validate(detail))


async def timeline(request: Request) -> Response:
    order_id: UUID = request.path_params["order_id"]
    found = await dependencies(request, Edge).read_timeline(order_id)
    items = [
        TimelineEvent(
            at=item.at.astimezone(UTC), kind=item.kind, summary=item.summary, data=item.data
        )
        for item in found
    ]
    return answer(Timeline(order_id=str(order_id), items=items))


async def put_product(request: Request) -> Response:
    sku = request.path_params["sku"]
    if not 1 <= len(sku) <= 128:
        raise HttpError(422, "invalid_sku", "A sku has 1 to 128 characters.")
    _raw, document = await read_json(request)
    body = parse_body(ProductBody, document)
    saved = await dependencies(request, Edge).save_product(Product(sku=sku, **body.model_dump()))
    return answer(ProductItem.model_validate(saved))


async def products(request: Request) -> Response:
    found = await read(request, lambda uow: uow.catalog.all())
    return answer(Products(items=[ProductItem.model_validate(p) for p in found]))


_NO_ORDER = {"404": "None (`order_not_found`)."}

ROUTES = [
    *internal_payments.ROUTES,
    *internal_flags.ROUTES,
    *internal_refunds.ROUTES,
    *internal_stats.ROUTES,
    ApiRoute(
        "/internal/orders",
        orders,
        summary="Orders, newest first, with their `payment_status`, `fulfilment_state`, "
        "`refund_status` (the newest refund's) and `customer_status`. A value outside a "
        "filter's enum is refused with 422 `invalid_<filter>`.",
        response=OrderList,
        query=OrderListQuery,
    ),
    ApiRoute(
        "/internal/orders/{order_id:uuid}",
        order,
        summary="An order and its lines.",
        success=f"The order. {FULFILMENT_STATE}",
        response=OrderDetail,
        refusals=_NO_ORDER,
    ),
    ApiRoute(
        "/internal/orders/{order_id:uuid}/timeline",
        timeline,
        summary="What payments did for an order.",
        response=Timeline,
    ),
    ApiRoute("/internal/products", products, summary="The catalog.", response=Products),
    ApiRoute(
        "/internal/products/{sku}",
        put_product,
        method="PUT",
        summary="Create or replace a product.",
        response=ProductItem,
        body=ProductBody,
        body_errors={**BODY_ERRORS, "422": "A bad sku or body; `fields` names it."},
    ),
]
