"""Money going back to a customer: payments owns each refund and says where it stands.

A refund is *due* when a paid order cannot be fulfilled (its saga ended `failed`), when
an admin decides a payment flag's money goes back, or when an admin refunds an order
whose keys were never revealed (delivery revokes them first: `keys.revoked`). The
customer then *claims* it by giving a payout address, an admin *approves* (or rejects)
it, and the payout is *sending* until NOWPayments reports it *sent* (with the
transaction id) or *failed*. An admin may also record it *refunded_outside* BitLoot, and
a refund still only due or claimed is *canceled* if the order is fulfilled after all.
"""

from typing import ClassVar, Literal

from pydantic import Field

from bitloot_contracts import topics
from bitloot_contracts.events.base import Event
from bitloot_contracts.events.fields import (
    Code,
    CurrencyCode,
    Email,
    Identifier,
    PositiveMoney,
    Text,
)

RefundStatus = Literal[
    "due",
    "claimed",
    "approved",
    "sending",
    "sent",
    "failed",
    "rejected",
    "refunded_outside",
    "canceled",
]
"""Where a refund stands (see the module docstring)."""


class RefundStatusChanged(Event):
    """A refund was recorded (`previous_status` None) or moved to another status.

    Delivery emails the customer on `due` (what happened, and a link to claim the
    refund) and on `sent` / `refunded_outside` (the money is on its way); fulfillment's
    live status and the admin show the customer status it implies."""

    topic: ClassVar[str] = topics.REFUND_STATUS_CHANGED
    schema_version: Literal[1, 2] = 2

    refund_id: int = Field(ge=1, description="The refund's id in payments.")
    status: RefundStatus
    previous_status: RefundStatus | None = None
    reason: Code = Field(
        description="Why money goes back: `order_failed`, `keys_unrevealed`, or the kind "
        "of the payment flag an admin decided (`underpaid`, `paid_twice`…)."
    )
    cause: Code | None = Field(
        default=None,
        description="For `order_failed`: what made the order fail (the saga's stage), if known.",
    )
    amount: PositiveMoney = Field(description="What is paid back, in `currency`.")
    currency: CurrencyCode = Field(description="The currency the customer paid in.")
    customer_email: Email
    transaction_id: Identifier | None = Field(
        default=None, description="The payout's blockchain transaction, once sent."
    )
    note: Text | None = Field(
        default=None,
        description="The admin's note, or the payout's error an admin can act on.",
    )


class RefundClaimLinkRequested(Event):
    """The customer opened an expired claim link and asked for a new one; delivery
    (which owns email) sends it."""

    topic: ClassVar[str] = topics.REFUND_CLAIM_LINK_REQUESTED
    schema_version: Literal[1, 2] = 2

    refund_id: int = Field(ge=1)
    customer_email: Email
