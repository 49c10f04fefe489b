"""What the shop sells and whether Kinguin can supply it: payments tells the gateway which
Kinguin products its catalog lists, the gateway tells payments what Kinguin has of them.

These events are about a product, not an order: their `order_id` is always null (so is
the AMQP correlation_id), and `kinguin_product_id` says what they are about.
"""

from typing import ClassVar, Literal

from pydantic import AwareDatetime, Field

from bitloot_contracts import topics
from bitloot_contracts.events.base import Event
from bitloot_contracts.events.fields import Identifier, Money

ReleaseDate = str
"""Kinguin's release date as it gives it (e.g. `2004-11-01`)."""

_NOT_AN_ORDER = "Not about an order: always null."


class ProductListed(Event):
    """Payments' catalog lists (or no longer lists) a Kinguin product for sale."""

    topic: ClassVar[str] = topics.CATALOG_PRODUCT_LISTED
    schema_version: Literal[1] = 1

    # The envelope's order_id, narrowed: a catalog change concerns no order.
    order_id: None = Field(default=None, description=_NOT_AN_ORDER)  # type: ignore[assignment]
    kinguin_product_id: Identifier
    active: bool = Field(
        description="Whether an active catalog product sells it: the gateway watches the "
        "product's stock and price while it is."
    )


class ProductAvailabilityChanged(Event):
    """What Kinguin sells a listed product for, or how many keys it has, changed.

    Events arrive in any order: keep the one with the latest `observed_at`.
    """

    topic: ClassVar[str] = topics.PRODUCT_AVAILABILITY_CHANGED
    schema_version: Literal[1] = 1

    order_id: None = Field(default=None, description=_NOT_AN_ORDER)  # type: ignore[assignment]
    kinguin_product_id: Identifier
    qty: int = Field(ge=0, description="Keys Kinguin has at the cheapest offers' price.")
    price: Money | None = Field(
        description="The cheapest offer's price in EUR; null until the gateway has read it "
        "(a product.update webhook carries the quantity only)."
    )
    is_preorder: bool = Field(description="A preorder: its keys come on the release date.")
    release_date: ReleaseDate | None
    observed_at: AwareDatetime = Field(
        description="When Kinguin's state was so (its updatedAt, or when the gateway read it)."
    )
