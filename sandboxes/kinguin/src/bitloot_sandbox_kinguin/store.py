"""Products, orders and keys as Kinguin keeps them, in memory, in its JSON formats."""

import base64
import secrets
import string
import struct
import zlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal

from bitloot_sandbox_common.callbacks import Delivery
from bitloot_sandbox_kinguin.config import ProductSpec

Json = dict[str, object]
ALPHABET = string.ascii_uppercase + string.digits


def timestamp(moment: datetime) -> str:
    """Kinguin's time format: ISO-8601 with the offset, ``2020-10-16T11:24:08.123+00:00``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def money(value: Decimal) -> float:
    """Kinguin writes prices as JSON numbers."""
    return float(value)


def tiny_png(seed: bytes) -> bytes:
    """A small grey-scale PNG drawn from `seed`: a distinct image per key."""
    width, height = len(seed), 4
    rows = b"".join(b"\x00" + seed for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@dataclass(frozen=True)
class Key:
    """One key issued for one unit of a product."""

    serial: str
    type: str
    name: str
    kinguin_id: int
    offer_id: str
    product_id: str

    def as_json(self) -> Json:
        """The key as ``GET /v2/order/{orderId}/keys`` lists it."""
        return {
            "serial": self.serial,
            "type": self.type,
            "name": self.name,
            "kinguinId": self.kinguin_id,
            "offerId": self.offer_id,
            "productId": self.product_id,
        }


@dataclass(frozen=True)
class Line:
    """One product of an order: `qty` units at `price`, the buyer offering `request_price`."""

    product_id: str
    spec: ProductSpec
    qty: int
    price: Decimal
    request_price: Decimal

    def as_json(self) -> Json:
        """The order's product entry."""
        return {
            "kinguinId": self.spec.kinguin_id,
            "productId": self.product_id,
            "offerId": self.spec.offer_id,
            "qty": self.qty,
            "name": self.spec.name,
            "price": money(self.price),
            "totalPrice": money(self.price * self.qty),
            "requestPrice": money(self.request_price),
            "isPreorder": False,
            "keyType": "text",
        }


@dataclass(frozen=True)
class SentWebhook:
    """One ``order.status`` webhook sent and what the receiver answered."""

    status: str
    updated_at: str
    delivery: Delivery

    def as_json(self) -> Json:
        """The ledger's view of it."""
        return {
            "status": self.status,
            "updatedAt": self.updated_at,
            **self.delivery.as_json(),
        }


@dataclass
class Order:
    """An order placed with ``POST /v2/order``."""

    order_id: str
    order_external_id: str | None
    lines: list[Line]
    keys: list[Key]
    created_at: datetime
    updated_at: datetime
    status: str = "processing"
    duplicate_attempts: int = 0
    webhooks: list[SentWebhook] = field(default_factory=list)

    def as_json(self) -> Json:
        """The real order object."""
        total = money(sum((line.price * line.qty for line in self.lines), Decimal(0)))
        requested = sum((line.request_price * line.qty for line in self.lines), Decimal(0))
        return {
            "orderId": self.order_id,
            "orderExternalId": self.order_external_id,
            "status": self.status,
            "storeId": 1,
            "totalPrice": total,
            "requestTotalPrice": money(requested),
            "paymentPrice": total,
            "products": [line.as_json() for line in self.lines],
            "createdAt": timestamp(self.created_at),
            "updatedAt": timestamp(self.updated_at),
            "isPreorder": False,
            "preorderReleaseDate": None,
        }

    def ledger(self) -> Json:
        """The order with its keys, duplicate attempts and webhooks (sandbox only)."""
        return {
            **self.as_json(),
            "duplicate_attempts": self.duplicate_attempts,
            "key_count": len(self.keys),
            "keys": [key.as_json() for key in self.keys],
            "webhooks": [hook.as_json() for hook in self.webhooks],
        }


class Store:
    """Stock, orders by id and by external id, and every serial ever issued."""

    def __init__(
        self,
        products: dict[str, ProductSpec],
        image_keys_every: int,
        balance: Decimal = Decimal("100000"),
    ) -> None:
        self.products = products
        # The account's funds in EUR: every order is paid from it when placed.
        self.balance = balance
        self.orders: dict[str, Order] = {}
        self.by_external_id: dict[str, Order] = {}
        self._serials: set[str] = set()
        self._image_keys_every = image_keys_every
        self._issued = 0

    def place(self, lines: list[Line], external_id: str | None) -> Order:
        """Take the units from stock and issue their keys; the order is processing."""
        keys = [self._key(line) for line in lines for _ in range(line.qty)]
        for line in lines:
            spec = self.products[line.product_id]
            self.products[line.product_id] = replace(spec, stock=spec.stock - line.qty)
        self.balance -= sum((line.price * line.qty for line in lines), Decimal(0))
        now = datetime.now(UTC)
        order = Order(self._order_id(), external_id, lines, keys, now, now)
        self.orders[order.order_id] = order
        if external_id is not None:
            self.by_external_id[external_id] = order
        return order

    def _order_id(self) -> str:
        while (order_id := "".join(secrets.choice(ALPHABET) for _ in range(11))) in self.orders:
            pass
        return order_id

    def _key(self, line: Line) -> Key:
        self._issued += 1
        image = self._image_keys_every > 0 and self._issued % self._image_keys_every == 0
        while True:
            if image:
                serial = base64.b64encode(tiny_png(secrets.token_bytes(16))).decode()
            else:
                serial = "-".join(
                    "".join(secrets.choice(ALPHABET) for _ in range(5)) for _ in range(3)
                )
            if serial not in self._serials:
                break
        self._serials.add(serial)
        kind = "image/png" if image else "text/plain"
        return Key(
            serial, kind, line.spec.name, line.spec.kinguin_id, line.spec.offer_id, line.product_id
        )
