"""Invoices and their payments as NOWPayments keeps them, in memory, in its JSON formats."""

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bitloot_sandbox_nowpayments.payment import SATOSHI, Json, Payment, timestamp

# Units of each pay currency per unit of price currency: rough, fixed, good enough to
# produce plausible amounts.
RATES: dict[str, Decimal] = {
    "usdttrc20": Decimal("1"),
    "usdterc20": Decimal("1"),
    "usdc": Decimal("1"),
    "btc": Decimal("0.0000158"),
    "eth": Decimal("0.00031"),
    "ltc": Decimal("0.0121"),
    "trx": Decimal("8.31"),
}

# The IPN statuses a payment goes through for each outcome, in order.
SEQUENCES: dict[str, tuple[str, ...]] = {
    "finished": ("waiting", "confirming", "confirmed", "finished"),
    "partially_paid": ("waiting", "confirming", "partially_paid"),
    "failed": ("waiting", "confirming", "failed"),
    "expired": ("waiting", "expired"),
}


@dataclass(frozen=True)
class NewInvoice:
    """The validated body of ``POST /v1/invoice``."""

    price_amount: Decimal
    price_currency: str
    pay_currency: str | None
    order_id: str | None
    order_description: str | None
    ipn_callback_url: str | None
    success_url: str | None
    cancel_url: str | None
    partially_paid_url: str | None = None
    is_fixed_rate: bool = False
    is_fee_paid_by_user: bool = False


@dataclass
class Invoice:
    """An invoice as created by ``POST /v1/invoice``."""

    id: int
    token_id: str
    price_amount: Decimal
    price_currency: str
    pay_currency: str | None
    order_id: str | None
    order_description: str | None
    ipn_callback_url: str | None
    success_url: str | None
    cancel_url: str | None
    partially_paid_url: str | None
    is_fixed_rate: bool
    is_fee_paid_by_user: bool
    invoice_url: str
    created_at: datetime
    payments: list[Payment] = field(default_factory=list)

    def shop_url(self, outcome: str) -> str | None:
        """Where the pay page sends the buyer after `outcome` (documented: success_url
        "after successful payment", cancel_url "after failed payment", partially_paid_url
        when it "gets partially paid status")."""
        if outcome == "finished":
            return self.success_url
        if outcome == "partially_paid":
            return self.partially_paid_url
        return self.cancel_url

    def as_json(self) -> Json:
        """The documented invoice object (`id` and `price_amount` are strings there)."""
        stamp = timestamp(self.created_at)
        return {
            "id": str(self.id),
            "token_id": self.token_id,
            "order_id": self.order_id,
            "order_description": self.order_description,
            "price_amount": str(self.price_amount),
            "price_currency": self.price_currency,
            "pay_currency": self.pay_currency,
            "ipn_callback_url": self.ipn_callback_url,
            "invoice_url": self.invoice_url,
            "success_url": self.success_url,
            "cancel_url": self.cancel_url,
            "partially_paid_url": self.partially_paid_url,
            "payout_currency": None,
            "created_at": stamp,
            "updated_at": stamp,
            "is_fixed_rate": self.is_fixed_rate,
            "is_fee_paid_by_user": self.is_fee_paid_by_user,
        }

    def ledger(self) -> Json:
        """The invoice with its payments and the IPNs sent (or dropped) for them."""
        return {
            **self.as_json(),
            "payments": [
                {**p.as_json(), "ipns": [i.as_json() for i in p.ipns]} for p in self.payments
            ],
        }


class Store:
    """Every invoice and payment, by id; ids are numeric like NOWPayments'."""

    def __init__(self) -> None:
        self.invoices: dict[int, Invoice] = {}
        self.payments: dict[int, Payment] = {}
        self._next_invoice = 4_522_625_843
        self._next_payment = 5_077_125_051

    def create_invoice(self, new: NewInvoice, base_url: str) -> Invoice:
        """Record a new invoice whose pay page is under `base_url`."""
        self._next_invoice += 1
        invoice_id = self._next_invoice
        invoice = Invoice(
            id=invoice_id,
            token_id=secrets.token_hex(5),
            invoice_url=f"{base_url.rstrip('/')}/invoice/{invoice_id}",
            created_at=datetime.now(UTC),
            **vars(new),
        )
        self.invoices[invoice_id] = invoice
        return invoice

    def create_payment(self, invoice: Invoice, pay_currency: str) -> Payment:
        """A new payment of `invoice` in `pay_currency` (one of `RATES`), status waiting."""
        payment_id, now = self._next_id(), datetime.now(UTC)
        payment = Payment(
            payment_id=payment_id,
            invoice_id=invoice.id,
            order_id=invoice.order_id,
            order_description=invoice.order_description,
            price_amount=invoice.price_amount,
            price_currency=invoice.price_currency,
            pay_currency=pay_currency,
            pay_amount=(invoice.price_amount * RATES[pay_currency]).quantize(SATOSHI),
            pay_address="T" + secrets.token_hex(16),
            purchase_id=str(6_084_744_717 + payment_id % 1_000_000),
            created_at=now,
            updated_at=now,
        )
        return self._keep(invoice, payment)

    def create_redeposit(self, parent: Payment) -> Payment:
        """A repeated deposit to `parent`'s address: a child payment with the parent's
        invoice, purchase, address and amounts, listed in the parent's extra ids.

        Its `order_id` and `order_description` are null, as in the documented IPN example
        (the docs do not say whether a re-deposit inherits the parent's order id)."""
        now = datetime.now(UTC)
        child = Payment(
            payment_id=self._next_id(),
            invoice_id=parent.invoice_id,
            order_id=None,
            order_description=None,
            price_amount=parent.price_amount,
            price_currency=parent.price_currency,
            pay_currency=parent.pay_currency,
            pay_amount=parent.pay_amount,
            pay_address=parent.pay_address,
            purchase_id=parent.purchase_id,
            created_at=now,
            updated_at=now,
            parent_payment_id=parent.payment_id,
        )
        parent.extra_ids.append(child.payment_id)
        return self._keep(self.invoices[parent.invoice_id], child)

    def _next_id(self) -> int:
        self._next_payment += 1
        return self._next_payment

    def _keep(self, invoice: Invoice, payment: Payment) -> Payment:
        invoice.payments.append(payment)
        self.payments[payment.payment_id] = payment
        return payment


def later(moment: datetime, milliseconds: int) -> datetime:
    """`moment` plus a few milliseconds: distinct, ordered timestamps for quick steps."""
    return moment + timedelta(milliseconds=milliseconds)
