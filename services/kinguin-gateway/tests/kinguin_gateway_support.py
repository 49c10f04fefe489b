"""The gateway's tests against the Kinguin sandbox (bitloot_sandbox_kinguin, speaking
Kinguin's real formats) and the real bus and database."""

import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import httpx
from aio_pika.abc import AbstractIncomingMessage
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from pydantic import JsonValue
from sqlalchemy import func, select

from bitloot_contracts.events import Event, ReservationLine, ReservationRequested
from bitloot_kinguin_gateway.bootstrap import build
from bitloot_kinguin_gateway.handlers.ports import Reservations
from bitloot_kinguin_gateway.settings import Settings
from bitloot_runtime.sealing import generate_key_pair, load_private_key
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.settings import load_settings
from bitloot_runtime.signatures import hmac_sha512_hex
from bitloot_runtime.tables import inbox
from bitloot_sandbox_kinguin.config import KinguinSandboxConfig
from bitloot_sandbox_kinguin.sandbox import KinguinSandbox, Requested
from bitloot_sandbox_kinguin.store import Order
from bitloot_testing.bus import Spy, eventually, spy_on
from bitloot_testing.rabbitmq import BusNamespace

API_KEY = "sandbox-kinguin-test-api-key"
WEBHOOK_SECRET = "current-webhook-secret"
PREVIOUS_SECRET = "previous-webhook-secret"
INTERNAL_TOKEN = "gateway-test-internal-token"
# In the sandbox's default catalogue (EUR): 2.50 (stock 1000), 19.99, 10.50, 4.99 (stock 3).
COUNTER_STRIKE = "5c9b5f6b2539a4e8f172916a"
MINECRAFT = "5c9b6f0d2539a4e8f17ab8e2"
GIFT_CARD = "5c9b6a2f2539a4e8f1786a1c"
HOLLOW_KNIGHT = "5c9b5e5e2539a4e8f17270b0"


def sandbox_config(webhook_url: str | None = None) -> KinguinSandboxConfig:
    """The sandbox as the gateway's tests use it: webhooks only to `webhook_url`, orders
    completed quickly, every third key an image."""
    return KinguinSandboxConfig(
        api_key=API_KEY,
        webhook_secret=WEBHOOK_SECRET,
        webhook_url=webhook_url,
        webhook_delay=0.05,
        port=0,
        image_keys_every=3,
    )


@dataclass
class Kinguin:
    """The sandbox served on `url`, and its state."""

    url: str
    sandbox: KinguinSandbox

    @property
    def orders(self) -> list[Order]:
        return list(self.sandbox.store.orders.values())

    def calls(self, call: str) -> int:
        """How many times the sandbox received `call` (``"POST /v2/order"``)."""
        return self.sandbox.calls.count(call)

    def live(self, order_id: UUID) -> list[str]:
        """The external ids of the order's Kinguin orders that are not canceled or refunded."""
        return [
            str(order.order_external_id)
            for order in self.orders
            if str(order.order_external_id).startswith(str(order_id))
            and order.status not in ("canceled", "refunded")
        ]

    def place(self, external_id: UUID, lines: Sequence[tuple[str, int]]) -> Order:
        """An order placed behind the gateway's back (as by a run that then crashed)."""
        requested = [Requested(product, qty, None) for product, qty in lines]
        return self.sandbox.place_order(requested, str(external_id))


def request(order_id: UUID, maximum: str = "3.00", qty: int = 2) -> ReservationRequested:
    """Fulfillment's request for `qty` Counter-Strike keys at most `maximum` each."""
    line = ReservationLine(
        kinguin_product_id=COUNTER_STRIKE, qty=qty, max_unit_price=Decimal(maximum)
    )
    return ReservationRequested(order_id=order_id, lines=(line,))


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

    async def handled(self, event: Event) -> bool:
        """Whether the gateway has processed `event` (its inbox holds the message id)."""
        async with self.runtime.engine.connect() as connection:
            query = select(func.count()).where(inbox.c.message_id == str(event.event_id))
            return bool(await connection.scalar(query))


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


async def reserved(
    gateway: Gateway, spy: Spy, seen: list[AbstractIncomingMessage], order_id: UUID
) -> str:
    """Ask the gateway to reserve `order_id`; the Kinguin order id it announces."""
    await gateway.publish(request(order_id))
    [created] = await published(spy, "reservation.created", 1, seen)
    return str(json.loads(created.body)["kinguin_order_id"])


def gateway_settings(
    database_url: str,
    bus: BusNamespace,
    kinguin_url: str,
    delivery_public_key: str,
    **changes: object,
) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "amqp_url": bus.amqp_url,
        "bus_prefix": bus.prefix,
        "retry_delays": (0.2, 0.5, 1.0),
        "outbox_poll_interval": 0.2,
        "internal_token": INTERNAL_TOKEN,
        "kinguin_api_url": kinguin_url,
        "kinguin_api_key": API_KEY,
        "webhook_secret": WEBHOOK_SECRET,
        "webhook_secret_previous": PREVIOUS_SECRET,
        "delivery_public_key": delivery_public_key,
        **changes,
    }
    return load_settings(Settings, **values)


@contextlib.asynccontextmanager
async def started_gateway(
    database_url: str, bus: BusNamespace, kinguin_url: str, **changes: object
) -> AsyncIterator[Gateway]:
    """The gateway as bootstrap builds it, started, with an HTTP client on its app."""
    private, public = generate_key_pair()
    settings = gateway_settings(database_url, bus, kinguin_url, public, **changes)
    runtime, app = build(settings)
    track(runtime, bus)
    await runtime.start()
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield Gateway(runtime, http, bus, {"d1": load_private_key(private)})
    finally:
        await runtime.stop()


def track(runtime: ServiceRuntime, bus: BusNamespace) -> None:
    """Have the bus fixture delete the gateway's queues and exchanges afterwards."""
    bus.track_services(["kinguin-gateway"], runtime.settings.retry_delays)


async def publish(runtime: ServiceRuntime, event: Event) -> None:
    await runtime.publisher.publish(event)


async def notify(
    gateway: Gateway, kinguin_order_id: str, external_id: str, status: str, later: int
) -> None:
    """Kinguin's signed `order.status` webhook, stamped `later` seconds from now."""
    body = json.dumps(
        {
            "orderId": kinguin_order_id,
            "orderExternalId": external_id,
            "status": status,
            "updatedAt": (datetime.now(UTC) + timedelta(seconds=later)).isoformat(),
        }
    ).encode()
    response = await gateway.http.post(
        "/kinguin/webhooks",
        content=body,
        headers={
            "X-Event-Name": "order.status",
            "Content-Type": "application/json",
            "X-Event-Secret": WEBHOOK_SECRET,
            "X-KINGUIN-SIGNATURE": hmac_sha512_hex(WEBHOOK_SECRET, body),
        },
    )
    assert response.status_code == httpx.codes.NO_CONTENT


def most_in_any_window(starts: list[float], window: float) -> int:
    """The most of `starts` that fall in one half-open window [t, t + window)."""
    ordered = sorted(starts)
    most, first = 0, 0
    for last, start in enumerate(ordered):
        while ordered[first] <= start - window:
            first += 1
        most = max(most, last - first + 1)
    return most


async def fulfilled_order(
    kinguin: Kinguin,
    reservations: Reservations,
    *,
    product: str = COUNTER_STRIKE,
    qty: int = 2,
    completed_at: datetime | None = None,
    preorder: bool = False,
) -> tuple[UUID, Order]:
    """A new order Kinguin completed and whose keys went to delivery, recorded in
    `reservations` as the gateway records it (the completed webhook stamped
    `completed_at`); a `preorder` bought before its product's release, completed when it
    is released."""
    order_id = uuid4()
    if preorder:
        kinguin.sandbox.store.set_product(product, is_preorder=True)
    order = kinguin.place(order_id, [(product, qty)])
    if preorder:
        kinguin.sandbox.release(product)
    await kinguin.sandbox.idle()
    assert order.status == "completed"
    line: dict[str, JsonValue] = {"kinguin_product_id": product, "qty": qty}
    await reservations.open(order_id, [{**line, "max_unit_price": "100"}])
    await reservations.mark_placed(order_id, order.order_id, "processing")
    at = completed_at or datetime.now(UTC)
    await reservations.record_status(order_id, order.order_id, "completed", at)
    await reservations.record_keys(order_id, qty, "buyer@example.com")
    return order_id, order
