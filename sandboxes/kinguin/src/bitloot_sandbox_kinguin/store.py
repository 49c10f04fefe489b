"""Products, balance, orders and keys as Kinguin keeps them, in memory.

The store moves an order between the documented statuses and keeps the books right:
placing takes stock and charges the balance, canceling a processing order gives both
back, refunding a completed order credits the balance.
"""

import base64
import secrets
import string
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bitloot_sandbox_kinguin.config import ProductSpec
from bitloot_sandbox_kinguin.images import IMAGE_FORMATS
from bitloot_sandbox_kinguin.orders import (
    CANCELED,
    COMPLETED,
    PROCESSING,
    REFUNDED,
    Key,
    KeySlot,
    Line,
    Order,
    money,
    timestamp,
)

__all__ = ["Key", "Line", "Order", "StateError", "Store", "money", "timestamp"]

ALPHABET = string.ascii_uppercase + string.digits
RETURN_WINDOW = timedelta(hours=24)


class StateError(ValueError):
    """An order that cannot move as asked from the status it is in."""


def object_id() -> str:
    """An id in Kinguin's format (a 24-hex-digit object id)."""
    return secrets.token_hex(12)


class Store:
    """Stock, balance, orders by id and by external id, and every serial ever issued."""

    def __init__(
        self,
        products: dict[str, ProductSpec],
        image_keys_every: int,
        balance: Decimal = Decimal("100000"),
    ) -> None:
        self.products = products
        now = datetime.now(UTC)
        # When each product last changed (the Product Object's and product.update's updatedAt).
        self.product_updated_at = dict.fromkeys(products, now)
        # The account's funds in EUR: every order is paid from it when placed.
        self.balance = balance
        self.orders: dict[str, Order] = {}
        # Every order placed under each orderExternalId, oldest first: the docs ask that
        # the value "should be unique" but promise nothing when it is not.
        self.by_external_id: dict[str, list[Order]] = {}
        self._serials: set[str] = set()
        # Every n-th key delivered is an image (0: none); tests may change it at run time.
        self.image_keys_every = image_keys_every
        self._issued = 0
        self._images = 0

    def set_product(
        self,
        product_id: str,
        *,
        stock: int | None = None,
        price: Decimal | None = None,
        is_preorder: bool | None = None,
    ) -> ProductSpec:
        """Change a product's stock, price or preorder flag, and note when."""
        spec = self.products[product_id]
        spec = replace(
            spec,
            stock=spec.stock if stock is None else stock,
            price=spec.price if price is None else price,
            is_preorder=spec.is_preorder if is_preorder is None else is_preorder,
        )
        self.products[product_id] = spec
        self.product_updated_at[product_id] = datetime.now(UTC)
        return spec

    def place(self, lines: list[Line], external_id: str | None) -> Order:
        """Take the units from stock and charge the balance; the order is processing, its
        keys not delivered yet (a preorder's wait for the release date)."""
        for line in lines:
            spec = self.products[line.product_id]
            self.set_product(line.product_id, stock=spec.stock - line.qty)
        slots = [KeySlot(object_id(), line.product_id) for line in lines for _ in range(line.qty)]
        preorders = [line.spec.release_date for line in lines if line.spec.is_preorder]
        now = datetime.now(UTC)
        order = Order(
            self._order_id(),
            external_id,
            lines,
            slots,
            now,
            now,
            preorder_release_date=preorders[0] if preorders else None,
        )
        self.balance -= order.total
        self.orders[order.order_id] = order
        if external_id is not None:
            self.by_external_id.setdefault(external_id, []).append(order)
        return order

    def complete(self, order: Order) -> None:
        """Deliver every key of a processing order: it is completed."""
        self._require(order, PROCESSING, "completed")
        lines = {line.product_id: line for line in order.lines}
        for slot in order.slots:
            order.keys.append(self._key(lines[slot.product_id], slot.id))
            slot.status = "DELIVERED"
        self._move(order, COMPLETED)
        order.delivered_at = order.updated_at
        if order.return_accepted:
            # A return asked for while the keys were delayed is carried out now.
            self._give_back(order)

    def cancel(self, order: Order) -> None:
        """A processing order canceled: no key is ever delivered, the units go back to
        stock and the balance is credited what the order cost."""
        self._require(order, PROCESSING, "canceled")
        for line in order.lines:
            if line.product_id in self.products:
                spec = self.products[line.product_id]
                self.set_product(line.product_id, stock=spec.stock + line.qty)
        for slot in order.slots:
            slot.status = "CANCELED"
        self.balance += order.total
        self._move(order, CANCELED)

    def refund(self, order: Order) -> None:
        """A completed order refunded: the balance is credited what the order cost."""
        self._require(order, COMPLETED, "refunded")
        for slot in order.slots:
            slot.status = "REFUNDED"
        self.balance += order.total
        self._move(order, REFUNDED)

    def return_keys(self, order: Order) -> list[KeySlot]:
        """features/ReturnKeys.md: the delivered keys of an order go back to stock and
        their price to the balance; not for a pre-order, not 24 hours after delivery, one
        request per order (a refused one counts too). "In case of delay in delivering
        keys, the return will be executed separately once key will be delivered": a
        processing order's request is taken and carried out on completion. The keys
        concerned, as they were when asked."""
        refusal = self._return_refusal(order)
        order.return_requested = True
        if refusal is not None:
            raise StateError(refusal)
        order.return_accepted = True
        asked = [replace(s) for s in order.slots if s.status in ("DELIVERED", "PROCESSING")]
        self._give_back(order)
        return asked

    def _return_refusal(self, order: Order) -> str | None:
        """Why Kinguin will not take the order's keys back, in its words; None if it will."""
        if order.return_requested:
            return f"Order {order.order_id}: keys return was requested already"
        if order.is_preorder:
            return f"Order {order.order_id} is a pre-order: its keys cannot be returned"
        if order.status not in (PROCESSING, COMPLETED):
            return f"Order {order.order_id} is {order.status}: it has no keys to return"
        if (
            order.delivered_at is not None
            and datetime.now(UTC) - order.delivered_at > RETURN_WINDOW
        ):
            return f"Order {order.order_id}: 24 hours have passed since the keys were delivered"
        return None

    def _give_back(self, order: Order) -> None:
        """The order's delivered keys returned: to stock, their price to the balance."""
        prices = {line.product_id: line.price for line in order.lines}
        for slot in order.slots:
            if slot.status == "DELIVERED":
                slot.status = "RETURNED"
                self.balance += prices[slot.product_id]
                if slot.product_id in self.products:
                    spec = self.products[slot.product_id]
                    self.set_product(slot.product_id, stock=spec.stock + 1)

    def waiting_preorders(self, product_id: str) -> list[Order]:
        """The processing preorder orders of `product_id`, oldest first."""
        return [
            order
            for order in self.orders.values()
            if order.status == PROCESSING
            and order.is_preorder
            and any(line.product_id == product_id for line in order.lines)
        ]

    @staticmethod
    def _require(order: Order, status: str, target: str) -> None:
        if order.status != status:
            raise StateError(
                f"Order {order.order_id} is {order.status}: only a {status} order can be {target}"
            )

    @staticmethod
    def _move(order: Order, status: str) -> None:
        order.status, order.updated_at = status, datetime.now(UTC)

    def _order_id(self) -> str:
        while (order_id := "".join(secrets.choice(ALPHABET) for _ in range(11))) in self.orders:
            pass
        return order_id

    def _key(self, line: Line, key_id: str) -> Key:
        self._issued += 1
        every = self.image_keys_every
        image = not line.text_only and every > 0 and self._issued % every == 0
        kind, make = IMAGE_FORMATS[self._images % len(IMAGE_FORMATS)]
        while True:
            if image:
                serial = base64.b64encode(make(secrets.token_bytes(16))).decode()
            else:
                kind = "text/plain"
                serial = "-".join(
                    "".join(secrets.choice(ALPHABET) for _ in range(5)) for _ in range(3)
                )
            if serial not in self._serials:
                break
        self._serials.add(serial)
        self._images += image
        spec = line.spec
        return Key(key_id, serial, kind, spec.name, spec.kinguin_id, spec.offer_id, line.product_id)
