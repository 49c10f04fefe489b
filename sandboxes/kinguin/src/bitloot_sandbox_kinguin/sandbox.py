"""The sandbox's state and behaviour, independent of HTTP: `app.state.sandbox`."""

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import httpx
from pydantic import JsonValue

from bitloot_sandbox_common.callbacks import CallbackSender, Tasks
from bitloot_sandbox_kinguin.config import KinguinSandboxConfig, ProductSpec
from bitloot_sandbox_kinguin.faults import KinguinFaults
from bitloot_sandbox_kinguin.orders import COMPLETED, PROCESSING, Line, Order, timestamp
from bitloot_sandbox_kinguin.store import Store
from bitloot_sandbox_kinguin.throttle import Throttle
from bitloot_sandbox_kinguin.webhooks import Webhooks

logger = logging.getLogger(__name__)


class KinguinError(Exception):
    """An answer in Kinguin's error format (api/ErrorsCodes.md): `kind`, `status`,
    `detail`, and for a ``ConstraintViolation`` the `property_path` and `invalid_value`."""

    def __init__(
        self,
        status: int,
        kind: str,
        detail: str,
        *,
        property_path: str | None = None,
        invalid_value: JsonValue = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.kind, self.detail = status, kind, detail
        self.property_path, self.invalid_value = property_path, invalid_value


@dataclass(frozen=True)
class Requested:
    """One product of an order request (validated for shape, not for stock); `key_type`
    is ``"text"`` when the buyer asked for text keys only, `offer_id` the offer asked for."""

    product_id: str
    qty: int
    price: Decimal | None
    key_type: str | None = None
    offer_id: str | None = None


def unavailable(detail: str) -> KinguinError:
    """The error Kinguin answers when no offer matches the order request."""
    return KinguinError(400, "ProductUnavailable", detail)


def preorder_refused(detail: str) -> KinguinError:
    """The error for a request breaking features/BuyingPreorders.md's requirements."""
    return KinguinError(400, "Preorder", detail)


@dataclass
class Purchase:
    """One ``POST /v1/order`` or ``/v2/order`` request as it arrived, whatever became of
    it (rate limited, refused, placed): when, its ``orderExternalId`` and ``products`` as
    sent (None when the body had none), and the answer's status (None until answered,
    e.g. while a held answer waits) and the order it placed."""

    at: datetime
    path: str
    order_external_id: JsonValue
    products: JsonValue
    status: int | None = None
    order_id: str | None = None
    answered_at: datetime | None = None

    @classmethod
    def of(cls, path: str, raw: bytes) -> "Purchase":
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        fields = body if isinstance(body, dict) else {}
        return cls(datetime.now(UTC), path, fields.get("orderExternalId"), fields.get("products"))

    def as_json(self) -> dict[str, JsonValue]:
        return {
            "at": timestamp(self.at),
            "path": self.path,
            "orderExternalId": self.order_external_id,
            "products": self.products,
            "status": self.status,
            "orderId": self.order_id,
            "answeredAt": timestamp(self.answered_at) if self.answered_at else None,
        }


@dataclass
class Lookup:
    """One ``GET /v1/order?orderExternalId=`` (the documented way a buyer finds an order
    it may have placed): when, for which id, and how many orders it found. The witness
    that a repeated purchase request was preceded by a lookup that found nothing."""

    at: datetime
    order_external_id: str
    found: int

    def as_json(self) -> dict[str, JsonValue]:
        return {"at": timestamp(self.at), "orderExternalId": self.order_external_id,
                "found": self.found}  # fmt: skip


class KinguinSandbox:
    """Catalogue, orders, faults and the webhook machinery of one sandbox instance.

    A placed order completes `delay` seconds later unless `hold` (then ``complete``
    does it) or it is a preorder (then ``release`` of its product does it).
    """

    def __init__(
        self,
        config: KinguinSandboxConfig,
        callback_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.store = Store(dict(config.products), config.image_keys_every)
        self.faults = KinguinFaults()
        # Every API call received, as "METHOD /path", in order (``GET /sandbox/calls``).
        self.calls: list[str] = []
        # Kinguin's rate limit, and when each API call arrived (``GET /sandbox/rate``).
        self.throttle = Throttle(config.rate_limit_per_minute)
        # Every purchase request received, in order (``GET /sandbox/purchases``).
        self.purchases: list[Purchase] = []
        # Every lookup by orderExternalId, in order (``GET /sandbox/lookups``).
        self.lookups: list[Lookup] = []
        self.tasks = Tasks()
        self.sender = CallbackSender.configured(config, callback_transport)
        self.webhooks = Webhooks(
            secret=config.webhook_secret,
            url=config.webhook_url,
            sender=self.sender,
            faults=self.faults,
        )
        self.delay = config.webhook_delay
        self.hold = config.hold_completion

    def place_order(self, requested: list[Requested], external_id: str | None) -> Order:
        """A new order, completed later; `KinguinError` if it cannot be bought as asked.

        An `external_id` used before places another order all the same, each earlier one
        counting the duplicate attempt: api/order/v2/README.md says only that the value
        "should be unique" and documents no lookup by ``POST`` (a buyer finds its order
        with ``GET /v1/order?orderExternalId=``), so the sandbox does not de-duplicate,
        the worst case the docs allow."""
        for earlier in self.store.by_external_id.get(external_id, []) if external_id else []:
            earlier.duplicate_attempts += 1
        lines = [self._line(item) for item in requested]
        check_preorders(lines)
        total = sum((line.price * line.qty for line in lines), Decimal(0))
        if total > self.store.balance:
            raise KinguinError(
                400, "InsufficientBalance", "There are not enough funds to place an order."
            )
        order = self.store.place(lines, external_id)
        if not order.is_preorder and not self.hold:
            self.tasks.spawn(self._complete_later(order), name=f"complete-{order.order_id}")
        return order

    def _line(self, item: Requested) -> Line:
        spec = self.store.products.get(item.product_id)
        if spec is None:
            raise unavailable(f"Product {item.product_id} does not exist")
        if item.offer_id is not None and item.offer_id != spec.offer_id:
            raise unavailable(f"Product {item.product_id} has no offer {item.offer_id}")
        if item.product_id in self.faults.out_of_stock or spec.stock < item.qty:
            raise unavailable(f"Product {item.product_id} is out of stock")
        if item.price is not None and item.price < spec.price:
            raise unavailable(
                f"Product {item.product_id}: price changed to {spec.price}, offered {item.price}"
            )
        if spec.is_preorder and item.key_type is not None:
            raise preorder_refused(f"keyType is not allowed with pre-order {item.product_id}")
        offered = spec.price if item.price is None else item.price
        return Line(item.product_id, spec, item.qty, spec.price, offered, item.key_type == "text")

    async def _complete_later(self, order: Order) -> None:
        await asyncio.sleep(self.delay)
        if order.status == PROCESSING:
            self.complete(order)

    def complete(self, order: Order) -> None:
        """Deliver a processing order's keys and say so (`StateError` otherwise)."""
        placed_at = order.updated_at
        self.store.complete(order)
        logger.info("order completed", extra={"kinguin_order_id": order.order_id})
        updates = [(COMPLETED, order.updated_at)]
        if self.faults.reorder_callbacks:
            # A stale "processing" arrives after "completed": receivers compare updatedAt.
            updates.append((PROCESSING, placed_at))
        self._notify(order, updates)

    def cancel(self, order: Order) -> None:
        """Cancel a processing order: its keys are never delivered, the balance is
        credited back (`StateError` otherwise)."""
        self.store.cancel(order)
        logger.info("order canceled", extra={"kinguin_order_id": order.order_id})
        self._notify(order, [(order.status, order.updated_at)])

    def refund(self, order: Order) -> None:
        """Refund a completed order to the balance (`StateError` otherwise)."""
        self.store.refund(order)
        logger.info("order refunded", extra={"kinguin_order_id": order.order_id})
        self._notify(order, [(order.status, order.updated_at)])

    def release(self, product_id: str) -> list[Order]:
        """Release a preorder product: it is sold as a regular one from now on, and every
        preorder order waiting for it is completed. The orders completed."""
        self.store.set_product(product_id, is_preorder=False)
        waiting = self.store.waiting_preorders(product_id)
        for order in waiting:
            self.complete(order)
        return waiting

    def change_product(
        self, product_id: str, *, stock: int | None = None, price: Decimal | None = None
    ) -> ProductSpec:
        """Set a product's stock or price and send a ``product.update`` webhook."""
        spec = self.store.set_product(product_id, stock=stock, price=price)
        at = self.store.product_updated_at[product_id]
        self.tasks.spawn(
            self.webhooks.product_update(product_id, spec, at), name=f"product-{product_id}"
        )
        return spec

    def _notify(self, order: Order, updates: list[tuple[str, datetime]]) -> None:
        self.tasks.spawn(
            self.webhooks.order_status(order, updates), name=f"status-{order.order_id}"
        )

    async def idle(self) -> None:
        """Wait until every order under way is completed and its webhooks sent (orders
        held or waiting for a release are not under way)."""
        await self.tasks.idle()

    async def aclose(self) -> None:
        """Stop sending and close the HTTP client (the app's lifespan does this)."""
        await self.tasks.aclose()
        await self.sender.aclose()


def check_preorders(lines: list[Line]) -> None:
    """features/BuyingPreorders.md: one pre-order per request, never with regular products."""
    preorders = [line for line in lines if line.spec.is_preorder]
    if len(preorders) > 1:
        raise preorder_refused("You can order only one pre-order per request")
    if preorders and len(lines) > 1:
        raise preorder_refused("Buying pre-order with regular products is not allowed")
