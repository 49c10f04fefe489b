"""Revoked keys: an admin refunded an order whose keys were never revealed, so they are
never shown again (the reveal and fresh-link pages say so in the customer's words)."""

REFUNDED_TITLE = "Order refunded"
REFUNDED_TEXT = "This order was refunded; its keys were withdrawn."


class OrderRefunded(Exception):
    """The order's keys were revoked when it was refunded: nothing reveals them now."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"Order {order_id} was refunded; its keys were withdrawn.")


class RevokeRefused(Exception):
    """The keys cannot be revoked; `code` says why (`no_keys`, `already_revoked`,
    `keys_revealed`)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
