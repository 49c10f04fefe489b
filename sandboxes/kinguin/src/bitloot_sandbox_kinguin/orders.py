"""Orders and keys in Kinguin's JSON formats: the Order Object (api/order/v1/README.md)
and the Key Object (api/order/v2/README.md)."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from pydantic import JsonValue

from bitloot_sandbox_common.callbacks import Delivery
from bitloot_sandbox_kinguin.config import ProductSpec

Json = dict[str, JsonValue]
# The owner of the sandbox's store, as the Order Object's ``userEmail`` names it.
USER_EMAIL = "sandbox@kinguin.io"
STORE_ID = 1

# Order statuses (api/order/v1/README.md, Order Statuses).
PROCESSING, COMPLETED, CANCELED, REFUNDED = "processing", "completed", "canceled", "refunded"


def timestamp(moment: datetime) -> str:
    """The webhooks' time format, ``Y-m-d\\TH:i:s.vP``: ``2020-10-16T11:24:08.123+00:00``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def seconds(moment: datetime) -> str:
    """The objects' time format (``createdAt``, ``updatedAt``): ``2020-10-28T08:40:44+00:00``."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def money(value: Decimal) -> float:
    """Kinguin writes prices as JSON numbers."""
    return float(value)


@dataclass(frozen=True)
class Key:
    """One key delivered for one unit of a product; `serial` is base64 for image types."""

    id: str
    serial: str
    type: str
    name: str
    kinguin_id: int
    offer_id: str
    product_id: str

    def as_json(self) -> Json:
        """The Key Object, as ``GET /v2/order/{orderId}/keys`` lists it."""
        return {
            "id": self.id,
            "serial": self.serial,
            "type": self.type,
            "name": self.name,
            "kinguinId": self.kinguin_id,
            "offerId": self.offer_id,
            "productId": self.product_id,
        }


@dataclass
class KeySlot:
    """One unit of an order line, from placing on: its key's id and Key Status
    (``PROCESSING`` until delivered, then ``DELIVERED``; ``CANCELED``, ``REFUNDED``)."""

    id: str
    product_id: str
    status: str = "PROCESSING"

    def as_json(self) -> Json:
        return {"id": self.id, "status": self.status}


@dataclass(frozen=True)
class Line:
    """One product of an order: `qty` units at `price`, the buyer offering `request_price`;
    `text_only` when the buyer asked for ``keyType: "text"``."""

    product_id: str
    spec: ProductSpec
    qty: int
    price: Decimal
    request_price: Decimal
    text_only: bool = False

    def as_json(self, slots: list[KeySlot] | None) -> Json:
        """The Order Object's ``products`` entry; its ``keys`` when `slots` is given."""
        entry: Json = {
            "kinguinId": self.spec.kinguin_id,
            "offerId": self.spec.offer_id,
            "productId": self.product_id,
            "qty": self.qty,
            "name": self.spec.name,
            "price": money(self.price),
            "totalPrice": money(self.price * self.qty),
            "requestPrice": money(self.request_price),
            "isPreorder": self.spec.is_preorder,
            "releaseDate": self.spec.release_date,
            "keyType": "text",
        }
        if slots is not None:
            entry["keys"] = [s.as_json() for s in slots if s.product_id == self.product_id]
        return entry


@dataclass(frozen=True)
class SentWebhook:
    """One ``order.status`` webhook sent and what the receiver answered."""

    status: str
    updated_at: str
    delivery: Delivery

    def as_json(self) -> Json:
        """The ledger's view of it."""
        return {"status": self.status, "updatedAt": self.updated_at, **self.delivery.as_json()}


@dataclass
class Order:
    """An order placed with ``POST /v2/order``.

    `keys` are the keys delivered so far (none until completed); `slots` every unit
    ordered with its key's status. `updated_at` is when the status last changed: the
    webhooks carry it, the Order Object does not.
    """

    order_id: str
    order_external_id: str | None
    lines: list[Line]
    slots: list[KeySlot]
    created_at: datetime
    updated_at: datetime
    preorder_release_date: str | None = None
    status: str = PROCESSING
    keys: list[Key] = field(default_factory=list)
    duplicate_attempts: int = 0
    webhooks: list[SentWebhook] = field(default_factory=list)
    delivered_at: datetime | None = None
    # features/ReturnKeys.md: "You can send only one request for return keys" (whether
    # it was refused or taken); a taken one on a processing order is carried out on delivery.
    return_requested: bool = False
    return_accepted: bool = False

    @property
    def total(self) -> Decimal:
        """What the order costs, and what the balance was charged."""
        return sum((line.price * line.qty for line in self.lines), Decimal(0))

    @property
    def is_preorder(self) -> bool:
        return self.preorder_release_date is not None

    def as_json(self, *, with_keys: bool = True) -> Json:
        """The Order Object; ``products.keys`` only `with_keys` (``POST /v2/order``
        answers without them, as documented)."""
        requested = sum((line.request_price * line.qty for line in self.lines), Decimal(0))
        document: Json = {
            "totalPrice": money(self.total),
            "requestTotalPrice": money(requested),
            "status": self.status,
            "userEmail": USER_EMAIL,
            "storeId": STORE_ID,
            "createdAt": seconds(self.created_at),
            "orderId": self.order_id,
            "paymentPrice": money(self.total),
            "products": [line.as_json(self.slots if with_keys else None) for line in self.lines],
            "totalQty": sum(line.qty for line in self.lines),
            "isPreorder": self.is_preorder,
        }
        if self.order_external_id is not None:
            document["orderExternalId"] = self.order_external_id
        if self.preorder_release_date is not None:
            document["preorderReleaseDate"] = self.preorder_release_date
        return document

    def ledger(self) -> Json:
        """The order with its keys, duplicate attempts and webhooks (sandbox only)."""
        return {
            **self.as_json(),
            # The ledger's own, for tests: the Order Object has no orderExternalId: null.
            "orderExternalId": self.order_external_id,
            "duplicate_attempts": self.duplicate_attempts,
            "key_count": len(self.keys),
            "keys": [key.as_json() for key in self.keys],
            "webhooks": [hook.as_json() for hook in self.webhooks],
        }
