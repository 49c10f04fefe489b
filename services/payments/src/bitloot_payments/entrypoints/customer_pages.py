"""The one Jinja2 environment of payments' customer pages (the order page, the refund
claim pages): templates from ``entrypoints/templates``, all extending ``base.html`` so
they look alike, every value HTML-escaped (autoescape) and a missing one an error
rather than an empty string (StrictUndefined)."""

from typing import Final
from uuid import UUID

from jinja2 import Environment, PackageLoader, StrictUndefined

TEMPLATES: Final = Environment(
    loader=PackageLoader("bitloot_payments.entrypoints", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
)


def order_number(order_id: UUID) -> str:
    """The order number the customer is shown (and quotes to support): the id's first
    eight characters, in capitals."""
    return str(order_id)[:8].upper()
