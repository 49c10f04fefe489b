"""A stand-in for Kinguin's eCommerce API speaking its real format, until the sandbox
(bitloot_sandbox_kinguin) is ready, and a way to serve it and the gateway in tests."""

import contextlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from aio_pika.abc import AbstractIncomingMessage
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitloot_contracts.events import Event
from bitloot_kinguin_gateway.settings import Settings
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.settings import load_settings
from bitloot_testing.bus import Spy, eventually, spy_on
from bitloot_testing.rabbitmq import BusNamespace

API_KEY = "stand-in-kinguin-api-key"
WEBHOOK_SECRET = "current-webhook-secret"
PREVIOUS_SECRET = "previous-webhook-secret"
PRODUCTS = {
    "prod-a": Decimal("2.50"),
    "prod-b": Decimal("9.99"),
    "prod-c": Decimal("1.00"),
    "prod-d": Decimal("1.00"),
}


@dataclass
class StandInOrder:
    order_id: str
    external_id: str | None
    status: str
    keys: list[dict[str, Any]]
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def as_json(self) -> dict[str, Any]:
        return {
            "orderId": self.order_id,
            "orderExternalId": self.external_id,
            "status": self.status,
            "totalPrice": 0,
            "products": [],
            "createdAt": self.updated_at.isoformat(),
            "updatedAt": self.updated_at.isoformat(),
        }


class StandInKinguin:
    """Orders, keys, and faults to inject (`faults`: status codes answered next)."""

    def __init__(self) -> None:
        self.orders: dict[str, StandInOrder] = {}
        self.faults: list[tuple[int, dict[str, str]]] = []
        self.calls: list[str] = []
        self.app = Starlette(
            routes=[
                Route("/v2/order", self._place, methods=["POST"]),
                Route("/v1/order", self._search, methods=["GET"]),
                Route("/v1/order/{order_id}", self._get, methods=["GET"]),
                Route("/v2/order/{order_id}/keys", self._keys, methods=["GET"]),
            ]
        )

    def place(self, external_id: str | None, quantities: dict[str, int]) -> StandInOrder:
        keys = [
            {
                "serial": f"KEY-{uuid.uuid4().hex[:12].upper()}",
                "type": "text/plain",
                "name": product,
                "kinguinId": 1,
                "offerId": "offer",
                "productId": product,
            }
            for product, qty in quantities.items()
            for _ in range(qty)
        ]
        order = StandInOrder(f"K{len(self.orders) + 1:05d}", external_id, "processing", keys)
        self.orders[order.order_id] = order
        return order

    def complete(self, order_id: str) -> StandInOrder:
        order = self.orders[order_id]
        order.status = "completed"
        order.updated_at = datetime.now(UTC)
        return order

    def _guard(self, request: Request) -> Response | None:
        self.calls.append(f"{request.method} {request.url.path}")
        if request.headers.get("x-api-key") != API_KEY:
            return _error(401, "Unauthorized", "Invalid API key")
        if self.faults:
            status, headers = self.faults.pop(0)
            return JSONResponse({"kind": "Busy", "status": status}, status, headers=headers)
        return None

    async def _place(self, request: Request) -> Response:
        if (refused := self._guard(request)) is not None:
            return refused
        body = await request.json()
        quantities: dict[str, int] = {}
        for line in body["products"]:
            price = PRODUCTS.get(line["productId"])
            if price is None:
                return _error(400, "ProductUnavailable", f"{line['productId']} is unavailable")
            if Decimal(str(line["price"])) < price:
                return _error(400, "ConstraintViolation", "price is lower than the offer")
            quantities[line["productId"]] = int(line["qty"])
        return JSONResponse(self.place(body.get("orderExternalId"), quantities).as_json())

    async def _search(self, request: Request) -> Response:
        if (refused := self._guard(request)) is not None:
            return refused
        wanted = request.query_params.get("orderExternalId")
        found = [o.as_json() for o in self.orders.values() if o.external_id == wanted]
        return JSONResponse({"results": found, "item_count": len(found)})

    async def _get(self, request: Request) -> Response:
        if (refused := self._guard(request)) is not None:
            return refused
        order = self.orders.get(request.path_params["order_id"])
        if order is None:
            return _error(404, "NotFound", "no such order")
        return JSONResponse(order.as_json())

    async def _keys(self, request: Request) -> Response:
        if (refused := self._guard(request)) is not None:
            return refused
        order = self.orders[request.path_params["order_id"]]
        page, limit = int(request.query_params["page"]), int(request.query_params["limit"])
        return JSONResponse(order.keys[(page - 1) * limit : page * limit])


def _error(status: int, kind: str, detail: str) -> Response:
    return JSONResponse({"kind": kind, "status": status, "title": kind, "detail": detail}, status)


@dataclass
class Gateway:
    """The started gateway, an HTTP client on its app, the bus namespace, delivery's keys."""

    runtime: ServiceRuntime
    http: httpx.AsyncClient
    bus: BusNamespace
    delivery_keys: dict[str, X25519PrivateKey]

    def spy(self) -> contextlib.AbstractAsyncContextManager[Spy]:
        return spy_on(self.bus.amqp_url, self.bus.prefix, self.runtime.topology.exchange.name)

    async def publish(self, event: Event) -> None:
        await publish(self.runtime, event)


async def published(
    spy: Spy, topic: str, count: int, seen: list[AbstractIncomingMessage] | None = None
) -> list[AbstractIncomingMessage]:
    """The messages of `topic` once `count` of them have been seen, and a second more.

    The spy hands each message out once: pass the same `seen` to successive calls that
    wait for different topics, so that none is lost between them.
    """
    seen = [] if seen is None else seen

    async def enough() -> bool:
        seen.extend(await spy.collect(expected=0, timeout=0.3))
        return [m.routing_key for m in seen].count(topic) >= count

    await eventually(enough, timeout=20)
    seen.extend(await spy.collect(expected=0, timeout=1.0))
    return [m for m in seen if m.routing_key == topic]


def gateway_settings(
    database_url: str, bus: BusNamespace, kinguin_url: str, delivery_public_key: str
) -> Settings:
    return load_settings(
        Settings,
        database_url=database_url,
        amqp_url=bus.amqp_url,
        bus_prefix=bus.prefix,
        retry_delays=(0.2, 0.5, 1.0),
        outbox_poll_interval=0.2,
        internal_token="gateway-test-internal-token",
        kinguin_api_url=kinguin_url,
        kinguin_api_key=API_KEY,
        webhook_secret=WEBHOOK_SECRET,
        webhook_secret_previous=PREVIOUS_SECRET,
        delivery_public_key=delivery_public_key,
    )


def track(runtime: ServiceRuntime, bus: BusNamespace) -> None:
    """Have the bus fixture delete the gateway's queues and exchanges afterwards."""
    for name in runtime.topology.names("kinguin-gateway", runtime.settings.retry_delays):
        bus.track_queue(name)
        bus.track_exchange(name)


async def publish(runtime: ServiceRuntime, event: Event) -> None:
    await runtime.publisher.publish(event)
