"""Invoices and payments as NOWPayments keeps them, in memory, in its JSON formats."""

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bitloot_sandbox_common.callbacks import Delivery

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
FEE = Decimal("0.995")

# The IPN statuses a payment goes through for each outcome, in order.
SEQUENCES: dict[str, tuple[str, ...]] = {
    "finished": ("waiting", "confirming", "confirmed", "finished"),
    "partially_paid": ("waiting", "confirming", "partially_paid"),
    "failed": ("waiting", "confirming", "failed"),
    "expired": ("waiting", "expired"),
}

Json = dict[str, object]


def timestamp(moment: datetime) -> str:
    """NOWPayments' time format: ``2021-04-12T14:22:54.942Z``."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def number(value: Decimal) -> int | float:
    """A JSON number as NOWPayments writes it: an integer when whole."""
    return int(value) if value == value.to_integral_value() else float(value)


@dataclass(frozen=True)
class SentIpn:
    """One IPN sent: the status it carried and what the receiver answered."""

    payment_status: str
    delivery: Delivery

    def as_json(self) -> Json:
        """The ledger's view of it."""
        return {
            "payment_status": self.payment_status,
            **self.delivery.as_json(),
        }


@dataclass
class Payment:
    """A payment of an invoice: its status moves along one of `SEQUENCES`."""

    payment_id: int
    invoice_id: int
    order_id: str | None
    order_description: str | None
    price_amount: Decimal
    price_currency: str
    pay_currency: str
    pay_amount: Decimal
    pay_address: str
    purchase_id: str
    created_at: datetime
    updated_at: datetime
    payment_status: str = "waiting"
    actually_paid: Decimal = Decimal(0)
    ipns: list[SentIpn] = field(default_factory=list)

    def advance(self, status: str, at: datetime) -> Json:
        """Move to `status` at `at`; the payment status object after the move."""
        self.payment_status = status
        self.updated_at = at
        if status in ("confirming", "confirmed", "sending", "finished"):
            self.actually_paid = self.pay_amount
        elif status == "partially_paid":
            self.actually_paid = (self.pay_amount / 2).quantize(Decimal("0.00000001"))
        return self.as_json()

    def as_json(self) -> Json:
        """The real payment status object (also the IPN body)."""
        return {
            "payment_id": self.payment_id,
            "invoice_id": self.invoice_id,
            "payment_status": self.payment_status,
            "pay_address": self.pay_address,
            "price_amount": number(self.price_amount),
            "price_currency": self.price_currency,
            "pay_amount": number(self.pay_amount),
            "actually_paid": number(self.actually_paid),
            "pay_currency": self.pay_currency,
            "order_id": self.order_id,
            "order_description": self.order_description,
            "purchase_id": self.purchase_id,
            "outcome_amount": number((self.actually_paid * FEE).quantize(Decimal("0.00000001"))),
            "outcome_currency": self.pay_currency,
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.updated_at),
        }


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
    invoice_url: str
    created_at: datetime
    payments: list[Payment] = field(default_factory=list)

    def as_json(self) -> Json:
        """The real invoice object."""
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
            "created_at": stamp,
            "updated_at": stamp,
        }

    def ledger(self) -> Json:
        """The invoice with its payments and the IPNs sent for them."""
        return {
            **self.as_json(),
            "payments": [
                {**p.as_json(), "ipns": [i.as_json() for i in p.ipns]} for p in self.payments
            ],
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
        self._next_payment += 1
        now = datetime.now(UTC)
        payment = Payment(
            payment_id=self._next_payment,
            invoice_id=invoice.id,
            order_id=invoice.order_id,
            order_description=invoice.order_description,
            price_amount=invoice.price_amount,
            price_currency=invoice.price_currency,
            pay_currency=pay_currency,
            pay_amount=(invoice.price_amount * RATES[pay_currency]).quantize(Decimal("0.00000001")),
            pay_address="T" + secrets.token_hex(16),
            purchase_id=str(6_084_744_717 + self._next_payment % 1_000_000),
            created_at=now,
            updated_at=now,
        )
        invoice.payments.append(payment)
        self.payments[payment.payment_id] = payment
        return payment


def later(moment: datetime, milliseconds: int) -> datetime:
    """`moment` plus a few milliseconds: distinct, ordered timestamps for quick steps."""
    return moment + timedelta(milliseconds=milliseconds)
