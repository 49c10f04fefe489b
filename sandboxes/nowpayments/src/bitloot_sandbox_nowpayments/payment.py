"""A payment as NOWPayments keeps it, and its two documented JSON shapes: the payment
status object (``GET /v1/payment/{id}`` and the list) and the IPN body."""

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from pydantic import JsonValue

from bitloot_sandbox_common.callbacks import Delivery

# The documented payment statuses ("Get payment status").
STATUSES = (
    "waiting",
    "confirming",
    "confirmed",
    "sending",
    "partially_paid",
    "finished",
    "failed",
    "refunded",
    "expired",
)
# Statuses NOWPayments reaches only once the customer's funds were seen on the chain.
FUNDED = frozenset({"confirming", "confirmed", "sending", "partially_paid", "finished"})
# The merchant keeps this share of what was paid; the rest is NOWPayments' service fee.
FEE = Decimal("0.995")
SATOSHI = Decimal("0.00000001")

Json = dict[str, JsonValue]


def timestamp(moment: datetime) -> str:
    """NOWPayments' time format: ``2021-04-12T14:22:54.942Z``."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the epoch: real IPNs carry ``updated_at`` so (1765249461097)."""
    return int(moment.timestamp() * 1000)


def number(value: Decimal) -> int | float:
    """A JSON number as NOWPayments writes it: an integer when whole."""
    return int(value) if value == value.to_integral_value() else float(value)


@dataclass(frozen=True)
class IpnRecord:
    """One IPN: the status it carried and what the receiver answered, or None when the
    drop fault kept it from being sent."""

    payment_status: str
    url: str
    delivery: Delivery | None

    def as_json(self) -> Json:
        """The ledger's view of it; a dropped IPN has ``"dropped": true`` and no answer."""
        status = self.payment_status
        if self.delivery is None:
            unsent: Json = {"url": self.url, "attempts": 0, "status_code": None, "error": None}
            return {"payment_status": status, "dropped": True, **unsent, "sent_at": None}
        return {"payment_status": status, "dropped": False, **self.delivery.as_json()}


@dataclass
class Payment:
    """A payment of an invoice, or a re-deposit to its address (`parent_payment_id` set)."""

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
    parent_payment_id: int | None = None
    payment_status: str = "waiting"
    actually_paid: Decimal = Decimal(0)
    payin_hash: str | None = None
    payout_hash: str | None = None
    extra_ids: list[int] = field(default_factory=list)
    ipns: list[IpnRecord] = field(default_factory=list)

    def full_amount(self, status: str) -> Decimal:
        """What a customer sends to reach `status` unprompted: the whole pay amount, half
        of it for partially_paid, nothing before the funds are seen."""
        if status == "partially_paid":
            return (self.pay_amount / 2).quantize(SATOSHI)
        return self.pay_amount if status in FUNDED else Decimal(0)

    def move(self, status: str, at: datetime, actually_paid: Decimal | None = None) -> Json:
        """Move to `status` at `at` (any documented status, backwards too: late funds take
        an expired payment to finished); the IPN body after the move.

        Without `actually_paid`, a funded status on a payment with nothing paid yet takes
        `full_amount`; otherwise what was paid stays (a merchant marking a partially paid
        payment finished changes no amount)."""
        if actually_paid is not None:
            self.actually_paid = actually_paid
        elif status in FUNDED and not self.actually_paid:
            self.actually_paid = self.full_amount(status)
        self.payment_status = status
        self.updated_at = at
        if self.actually_paid and self.payin_hash is None:
            self.payin_hash = _hash(self.payment_id, "in")
        if status in ("sending", "finished") and self.payout_hash is None:
            self.payout_hash = _hash(self.payment_id, "out")
        return self.ipn_body()

    @property
    def outcome_amount(self) -> Decimal:
        return (self.actually_paid * FEE).quantize(SATOSHI)

    def _common(self) -> Json:
        return {
            "payment_id": self.payment_id,
            "invoice_id": self.invoice_id,
            "payment_status": self.payment_status,
            "pay_address": self.pay_address,
            "payin_extra_id": None,
            "price_amount": number(self.price_amount),
            "price_currency": self.price_currency,
            "pay_amount": number(self.pay_amount),
            "actually_paid": number(self.actually_paid),
            "pay_currency": self.pay_currency,
            "order_id": self.order_id,
            "order_description": self.order_description,
            "outcome_amount": number(self.outcome_amount),
            "outcome_currency": self.pay_currency,
            "payment_extra_ids": list(self.extra_ids) or None,
        }

    def as_json(self) -> Json:
        """The documented payment status object (``GET /v1/payment/{id}``, the list).

        As in the documented examples `purchase_id` is a number here (a string in IPNs);
        a re-deposit adds `parent_payment_id` and ``"origin_type": "REPEATED"`` (the list
        example shows them; the docs are silent on whether the status call does too).
        """
        body = {
            **self._common(),
            "purchase_id": int(self.purchase_id),
            "payout_hash": self.payout_hash,
            "payin_hash": self.payin_hash,
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.updated_at),
            "type": "crypto2crypto",
        }
        if self.parent_payment_id is not None:
            body |= {"parent_payment_id": self.parent_payment_id, "origin_type": "REPEATED"}
        return body

    def ipn_body(self) -> Json:
        """The IPN body: the fields of the documented IPN example, `updated_at` as epoch
        milliseconds like real IPNs (no `created_at`), `parent_payment_id` null unless a
        re-deposit (as a real first-payment IPN has it)."""
        service_fee = self.actually_paid - self.outcome_amount
        return {
            **self._common(),
            "parent_payment_id": self.parent_payment_id,
            "purchase_id": self.purchase_id,
            # Real IPNs carry 0 here even for finished payments.
            "actually_paid_at_fiat": 0,
            "fee": {
                "currency": self.pay_currency,
                "depositFee": 0,
                "withdrawalFee": 0,
                "serviceFee": number(service_fee),
            },
            "updated_at": epoch_ms(self.updated_at),
        }


def _hash(payment_id: int, direction: str) -> str:
    # A stable, plausible 64-hex transaction hash per payment and direction.
    return hashlib.sha256(f"{payment_id}:{direction}".encode()).hexdigest()
