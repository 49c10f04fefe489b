"""What an order is, in the customer's words, as delivery learns it from payment.finished:
its products (title, platform, how many) and what was paid. The key email and the reveal
page name them; keys only carry a Kinguin product id.

The summary may be missing (payment.finished late or lost, or an order paid before
delivery kept summaries): whatever shows it then names only the order, never a guess.
"""

from dataclasses import dataclass
from decimal import Decimal

from pydantic import JsonValue, TypeAdapter

from bitloot_contracts.events import PaymentFinished


def money(amount: Decimal, currency: str) -> str:
    """``0.0012 BTC``: the amount without trailing zeros or exponent, the ticker in
    capitals."""
    return f"{amount.normalize():f} {currency.upper()}"


@dataclass(frozen=True)
class SummaryLine:
    """One product of the order; `title` and `platform` None when payments did not say."""

    product_id: str
    qty: int
    title: str | None = None
    platform: str | None = None


@dataclass(frozen=True)
class OrderSummary:
    amount: Decimal
    currency: str
    lines: tuple[SummaryLine, ...]

    @property
    def money(self) -> str:
        return money(self.amount, self.currency)

    def line_of(self, product_id: str) -> SummaryLine | None:
        """The line of a key's Kinguin product (None: a key of a product not ordered,
        such as one an admin entered by hand for another)."""
        return next((line for line in self.lines if line.product_id == product_id), None)

    def to_json(self) -> dict[str, JsonValue]:
        data: dict[str, JsonValue] = _SUMMARY.dump_python(self, mode="json")
        return data

    @classmethod
    def from_json(cls, data: dict[str, JsonValue]) -> "OrderSummary":
        return _SUMMARY.validate_python(data)


_SUMMARY = TypeAdapter(OrderSummary)


def summary_of(event: PaymentFinished) -> OrderSummary:
    """The summary payment.finished carries (a version 1 message: no titles)."""
    lines = tuple(
        SummaryLine(line.kinguin_product_id, line.qty, line.title, line.platform)
        for line in event.lines
    )
    return OrderSummary(event.amount, event.currency, lines)
