"""What Kinguin has of a product, and when news of it supersedes what we know."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class Availability:
    """How many keys Kinguin has at its cheapest offers' `price` (EUR; None until the
    product has been read: a product.update webhook carries the quantity only)."""

    qty: int
    price: Decimal | None
    is_preorder: bool
    release_date: str | None

    def with_qty(self, qty: int) -> "Availability":
        return Availability(qty, self.price, self.is_preorder, self.release_date)


UNKNOWN = Availability(qty=0, price=None, is_preorder=False, release_date=None)
"""The base a first webhook's quantity is applied to."""


def supersedes(incoming: datetime, known: datetime | None) -> bool:
    """Whether news stamped `incoming` is newer than what we applied (stamped `known`).

    Kinguin sends webhooks asynchronously, in no particular order; only a strictly later
    `updatedAt` wins, so a copy of the last one changes nothing either.
    """
    return known is None or incoming > known


@dataclass(frozen=True)
class Product:
    """A product as stored; `availability` is None until Kinguin has said anything of it."""

    kinguin_product_id: str
    watched: bool
    availability: Availability | None
    kinguin_updated_at: datetime | None
