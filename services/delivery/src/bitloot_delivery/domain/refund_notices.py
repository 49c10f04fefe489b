"""The refund emails, in the customer's words: why money goes back to them, how much,
how to claim it (`refund_due`, and a fresh `claim_link`), and that it was sent
(`refund_sent`).

None of them carries a key. The claim link is minted when the email is sent (like a
reveal link), so the row only keeps what the email says; an admin's resend says it again
with a new link.
"""

from dataclasses import dataclass
from decimal import Decimal
from email.message import EmailMessage
from uuid import UUID

from pydantic import JsonValue, TypeAdapter

from bitloot_delivery.domain.emails import EmailKind
from bitloot_delivery.domain.notices import notice_message
from bitloot_delivery.domain.summaries import money

DUE_SUBJECT = "Your BitLoot order: your money is coming back"
SENT_SUBJECT = "Your BitLoot refund has been sent"
OUTSIDE_SUBJECT = "Your BitLoot refund has been made"
CLAIM_LINK_SUBJECT = "A new link to claim your BitLoot refund"

_SUPPLIER = "we could not get your game's key from our supplier"
# What made an order fail, by the saga's stage (fulfillment's `Stage`).
_ORDER_FAILED = {
    "reservation": f"{_SUPPLIER}: it was out of stock, or no longer sold at the price you paid.",
    "kinguin": f"{_SUPPLIER}: they canceled the order before delivering the key.",
    "deadline": f"{_SUPPLIER}: they did not deliver it in time.",
    "delivery": f"{_SUPPLIER}: the key they sent could not be stored safely for you.",
}
_NOT_PAID = "so it did not pay for your order"
# Why an admin decided a payment's money goes back, by the payment flag's kind.
_FLAGGED = {
    "late_payment": f"your payment arrived after the invoice had expired, {_NOT_PAID}.",
    "underpaid": f"your payment was less than the price of your order, {_NOT_PAID}.",
    "partially_paid": f"your payment was less than the price of your order, {_NOT_PAID}.",
    "amount_mismatch": f"your payment did not match the amount of the invoice, {_NOT_PAID}.",
    "currency_mismatch": f"your payment came in another currency than the invoice, {_NOT_PAID}.",
    "redeposit": "a further payment arrived for your order after it was already paid.",
    "paid_twice": "your order was paid twice; only one payment was needed.",
    "overpaid": "you paid more than the price of your order.",
}
_KEYS_UNREVEALED = "your order was refunded and its keys withdrawn: they can no longer be revealed."
_UNKNOWN = "a payment for your order could not be used."

_NO_KEY = "No key was bought for your order, so you get your money back."
_NOT_DELIVERED = "You will not receive a key for this order, so you get your money back."
_EXTRA_PAYMENT = "No key was bought with this payment, so you get it back."
_SURPLUS = "Your order itself is not affected: you get the difference back."
_REFUNDED = "You get your money back."


@dataclass(frozen=True)
class RefundNotice:
    """What a refund email tells the customer, as the email log keeps it (JSON): the
    refund, its order, why, how much, and once sent, the transaction id or admin's note."""

    refund_id: int
    order_id: UUID
    reason: str
    amount: Decimal
    currency: str
    cause: str | None = None
    outside: bool = False
    transaction_id: str | None = None
    note: str | None = None

    def to_json(self) -> dict[str, JsonValue]:
        data: dict[str, JsonValue] = _NOTICE.dump_python(self, mode="json")
        return data

    @classmethod
    def from_json(cls, data: dict[str, JsonValue]) -> "RefundNotice":
        return _NOTICE.validate_python(data)

    @property
    def money(self) -> str:
        """``0.0012 BTC``: the amount without trailing zeros or exponent, the ticker in
        capitals."""
        return money(self.amount, self.currency)


_NOTICE = TypeAdapter(RefundNotice)


def what_happened(notice: RefundNotice) -> str:
    """The opening sentence: why the money goes back (after "Hello,")."""
    if notice.reason == "order_failed":
        return _ORDER_FAILED.get(notice.cause or "", f"{_SUPPLIER}.")
    if notice.reason == "keys_unrevealed":
        return _KEYS_UNREVEALED
    return _FLAGGED.get(notice.reason, _UNKNOWN)


def what_it_means(notice: RefundNotice) -> str:
    """That no key was bought (or that the order was refunded)."""
    if notice.reason == "order_failed":
        return _NOT_DELIVERED if notice.cause == "delivery" else _NO_KEY
    if notice.reason == "keys_unrevealed":
        return _REFUNDED
    if notice.reason == "overpaid":
        return _SURPLUS
    return _EXTRA_PAYMENT


_STEPS = (
    "What happens next:\n"
    "1. Open the link below and give us a {currency} address to send the money to.\n"
    "2. Our team checks and approves the refund.\n"
    "3. We send the money and email you the transaction id."
)
_LINK_LIFE = (
    "The link works for {days}. If it has expired, open it anyway: the page offers to "
    "send a new one to this address."
)


@dataclass(frozen=True)
class Wording:
    """An email's words: the paragraphs before the claim link, and those after it."""

    subject: str
    before: list[str]
    after: list[str]


def due_wording(notice: RefundNotice, days: str) -> Wording:
    """The `refund_due` email: what happened, what it means, how much, what to do."""
    before = [
        what_happened(notice),
        what_it_means(notice),
        f"We owe you {notice.money} for order {notice.order_id}.",
        _STEPS.format(currency=notice.currency.upper()),
    ]
    return Wording(DUE_SUBJECT, before, [_LINK_LIFE.format(days=days)])


def claim_link_wording(notice: RefundNotice, days: str) -> Wording:
    """The `claim_link` email: the new link the customer asked for."""
    before = [
        f"here is a new link to claim your refund of {notice.money} for order {notice.order_id}.",
        _STEPS.format(currency=notice.currency.upper()),
    ]
    return Wording(CLAIM_LINK_SUBJECT, before, [_LINK_LIFE.format(days=days)])


def sent_wording(notice: RefundNotice) -> Wording:
    """The `refund_sent` email: the money is on its way (or was paid outside BitLoot)."""
    if notice.outside:
        lines = [f"we have refunded you {notice.money} for order {notice.order_id}."]
        if notice.note is not None:
            lines.append(f"A note from our team: {notice.note}")
    else:
        lines = [f"we have sent your refund of {notice.money} for order {notice.order_id}."]
    if notice.transaction_id is not None:
        lines.append(f"Transaction id: {notice.transaction_id}")
    if not notice.outside:
        lines.append("It may take a little while for the network to confirm it.")
    subject = OUTSIDE_SUBJECT if notice.outside else SENT_SUBJECT
    return Wording(subject, [*lines, "There is nothing more you need to do."], [])


def ttl_words(days: float) -> str:
    """``7 days``, ``1 day``, ``12 hours``: how long a claim link works."""
    if days >= 1 and days == int(days):
        return "1 day" if days == 1 else f"{int(days)} days"
    return f"{days * 24:g} hours"


def compose_refund_email(
    *,
    sender: str,
    to: str,
    wording: Wording,
    message_id: str,
    support_email: str,
    link: str | None = None,
) -> EmailMessage:
    """The email as text and as escaped HTML, the claim `link` (if any) between the
    wording's two parts; never a key."""
    return notice_message(
        sender=sender,
        to=to,
        subject=wording.subject,
        message_id=message_id,
        support_email=support_email,
        before=wording.before,
        link=link,
        link_label="Claim my refund",
        after=wording.after,
    )


def wording_of(kind: EmailKind, notice: RefundNotice, link_days: float) -> Wording:
    """What a refund email of `kind` says; `link_days` is the claim link's life."""
    days = ttl_words(link_days)
    if kind is EmailKind.REFUND_DUE:
        return due_wording(notice, days)
    if kind is EmailKind.CLAIM_LINK:
        return claim_link_wording(notice, days)
    return sent_wording(notice)


def carries_claim_link(kind: EmailKind) -> bool:
    """The refund_due and claim_link emails carry a claim link; refund_sent needs none."""
    return kind in (EmailKind.REFUND_DUE, EmailKind.CLAIM_LINK)
