"""`POST /kinguin/webhooks`: Kinguin's notifications, authenticated, logged once, 204.

Nothing slow happens here (no call to Kinguin): the notification is logged and, if it is
news, turned into an event in the same transaction (`kinguin.webhook` for an
`order.status`, which fulfillment acts on; `product.availability_changed` for a
`product.update` of a product the catalog lists, which payments checks orders against).
"""

import functools
import logging
from typing import TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response

from bitloot_kinguin_gateway.adapters.webhook_log import Notification, WebhookCall
from bitloot_kinguin_gateway.entrypoints.edge import Edge
from bitloot_kinguin_gateway.entrypoints.webhook_auth import EVENT_HEADER
from bitloot_kinguin_gateway.handlers import catalog, webhooks
from bitloot_kinguin_gateway.handlers.catalog import PRODUCT_UPDATE, ProductUpdate
from bitloot_kinguin_gateway.handlers.webhooks import ORDER_STATUS
from bitloot_kinguin_gateway.metrics import GatewayMetrics
from bitloot_runtime.app import dependencies
from bitloot_runtime.http import HttpError, parse_json, read_body, validation_fields
from bitloot_runtime.openapi import ApiRoute

logger = logging.getLogger(__name__)


class OrderStatusBody(BaseModel):
    """Kinguin's `order.status` notification."""

    model_config = ConfigDict(extra="ignore")

    order_id: str = Field(alias="orderId", min_length=1, max_length=128)
    order_external_id: str | None = Field(default=None, alias="orderExternalId", max_length=128)
    status: str = Field(min_length=1, max_length=64)
    updated_at: AwareDatetime = Field(alias="updatedAt")


class ProductUpdateBody(BaseModel):
    """Kinguin's `product.update` notification (features/Webhooks.md)."""

    model_config = ConfigDict(extra="ignore")

    kinguin_id: int | None = Field(default=None, alias="kinguinId")
    product_id: str = Field(alias="productId", min_length=1, max_length=128)
    qty: int = Field(ge=0)
    text_qty: int | None = Field(default=None, alias="textQty")
    cheapest_offer_id: list[str] | None = Field(default=None, alias="cheapestOfferId")
    updated_at: AwareDatetime = Field(alias="updatedAt")


def _count(metrics: GatewayMetrics | None, event_name: str | None, outcome: str) -> None:
    """Count a logged call by event and outcome."""
    if metrics is not None:
        event = event_name if event_name in (ORDER_STATUS, PRODUCT_UPDATE) else "other"
        metrics.webhooks.labels(event=event, outcome=outcome).inc()


async def receive(request: Request) -> Response:
    """``POST /kinguin/webhooks``: authenticate, log once, apply what is news; 204."""
    edge = dependencies(request, Edge)
    count = functools.partial(_count, edge.metrics)
    raw = await read_body(request)
    event_name = request.headers.get(EVENT_HEADER)
    headers = edge.auth.loggable(request.headers)

    async def log(*, authenticated: bool, note: str | None = None) -> None:
        """Log the call as it is, without applying it."""
        call = WebhookCall(Notification(event_name), raw, headers, authenticated, note)
        async with edge.unit_of_work() as uow:
            await uow.webhooks.record(call)
            await uow.commit()

    if not edge.auth.verify(request.headers, raw):
        client = request.client.host if request.client else "?"
        logger.warning(
            "kinguin webhook refused: not authenticated",
            extra={"event_name": event_name, "client": client},
        )
        await log(authenticated=False)
        count(event_name, "unauthenticated")
        raise HttpError(401, "unauthorized", "The webhook is not authenticated.")
    if event_name not in (ORDER_STATUS, PRODUCT_UPDATE):
        # Another event: nothing to act on, but kept for the record.
        await log(authenticated=True)
        count(event_name, "accepted")
        return Response(status_code=204)
    try:
        notification = _order_status(raw) if event_name == ORDER_STATUS else None
        update = _product_update(raw) if event_name == PRODUCT_UPDATE else None
    except HttpError:
        await log(authenticated=True, note="invalid_body")
        count(event_name, "invalid")
        raise
    async with edge.unit_of_work() as uow:
        duplicate = False
        if notification is not None:
            duplicate = await webhooks.ApplyOrderStatus()(notification, raw, headers, uow)
        if update is not None:
            await catalog.ApplyProductUpdate()(update, raw, headers, uow)
        outcome = "duplicate" if duplicate else "accepted"
        uow.on_commit(functools.partial(count, event_name, outcome))
        await uow.commit()
    return Response(status_code=204)


_ModelT = TypeVar("_ModelT", bound=BaseModel)


def _parse(model: type[_ModelT], raw: bytes) -> _ModelT:
    document = parse_json(raw)
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise HttpError(
            400, "invalid_webhook", "The notification is invalid.", validation_fields(exc)
        ) from None


def _product_update(raw: bytes) -> ProductUpdate:
    body = _parse(ProductUpdateBody, raw)
    return ProductUpdate(body.product_id, body.qty, body.updated_at)


def _order_status(raw: bytes) -> Notification:
    body = _parse(OrderStatusBody, raw)
    return Notification(
        event_name=ORDER_STATUS,
        kinguin_order_id=body.order_id,
        order_external_id=body.order_external_id,
        status=body.status,
        updated_at=body.updated_at,
    )


ROUTES = [
    ApiRoute(
        "/kinguin/webhooks",
        receive,
        method="POST",
        status=204,
        summary=f"Kinguin's notifications: `{ORDER_STATUS}` (the body below) and "
        f"`{PRODUCT_UPDATE}` (`{{kinguinId, productId, qty, textQty, cheapestOfferId, "
        "updatedAt}`, for the products the catalog lists) are applied, any other event only "
        "logged. Every call is logged once, refused ones included.",
        success="Received.",
        response=None,
        security=[{"kinguinSecret": []}, {"kinguinSignature": []}],
        headers=[{"name": EVENT_HEADER, "in": "header", "schema": {"type": "string"}}],
        body=OrderStatusBody,
        body_errors={
            "400": "Malformed JSON (`malformed_json`), a key given twice "
            "(`duplicate_json_key`) or an invalid notification (`invalid_webhook`).",
            "413": "Larger than 64 KiB (`body_too_large`).",
        },
    )
]
