"""What a list of orders can be filtered on: the statuses the admin's order list shows
(payment, fulfilment, refund, customer) and its presets. Shared by payments, which
filters, and admin, which offers the known values as selects and checks them before
asking (issue #21: the old filter matched a status neither shown column showed)."""

from typing import Final, get_args

from bitloot_contracts.customer import CustomerStatus
from bitloot_contracts.events.order import OrderState
from bitloot_contracts.events.payment import PaymentStatus
from bitloot_contracts.events.refund import RefundStatus

PAYMENT_STATUSES: Final[tuple[str, ...]] = get_args(PaymentStatus)
"""NOWPayments' status of the order's payment (``payment``)."""
FULFILMENT_STATES: Final[tuple[str, ...]] = get_args(OrderState)
"""The fulfillment saga's state, as payments records it (``fulfilment``)."""
RECORDED_FULFILMENT_STATES: Final = ("paid", "reserving", "fulfilled", "failed", "refunded")
"""The saga states payments records: fulfillment announces only the changes of what the
customer is told and the ends (`announced` in its saga), so an order stays `reserving`
while its keys are bought and sent; the other states never match a filter."""
REFUND_STATUSES: Final[tuple[str, ...]] = get_args(RefundStatus)
"""The status of any of the order's refunds (``refund``)."""
CUSTOMER_STATUSES: Final[tuple[str, ...]] = get_args(CustomerStatus)
"""What the customer is told (``customer``)."""

PRESETS: Final = ("needs_action", "failed", "stuck", "refund_due")
"""``needs_action``: waits for an admin (an open flag, a refund claimed or whose payout
failed, a failed order with no refund under way, a stuck one); ``failed``: fulfilment
failed; ``stuck``: paid, fulfilment not ended, paid longer ago than payments' threshold
(``PAYMENTS_STUCK_AFTER_SECONDS``); ``refund_due``: money owed back and not yet sent."""

ORDER_FILTERS: Final[dict[str, tuple[str, ...]]] = {
    "payment": PAYMENT_STATUSES,
    "fulfilment": FULFILMENT_STATES,
    "refund": REFUND_STATUSES,
    "customer": CUSTOMER_STATUSES,
    "preset": PRESETS,
}
"""Each filter of ``/internal/orders`` that takes one of a known set of values."""
