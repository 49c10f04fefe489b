"""The flags payments raises for admins, and what an admin may have decided about them:
shared by payments, which raises and resolves them, and admin, which lists and filters
them (docs/operations.md §8 says what each kind asks of an admin)."""

from typing import Final

FLAG_KINDS: Final = (
    "partially_paid",
    "underpaid",
    "underpaid_accepted",
    "overpaid",
    "amount_mismatch",
    "currency_mismatch",
    "late_payment",
    "redeposit",
    "paid_twice",
    "refunded",
    "order_mismatch",
    "unknown_order",
    "unsupported",
    "processing_error",
    # Raised by the refund path: a failed order fulfilled after its refund let money move,
    # and a refund due whose amount the payment never told.
    "fulfilled_after_refund",
    "refund_amount_unknown",
)
"""Every kind of flag."""

FLAG_STATUSES: Final = ("open", "accepted", "refund_due", "dismissed", "replayed")
"""``open`` until an admin decides; ``replayed`` for a processing_error whose IPN was put
back in the queue."""
