"""The refund emails in the customer's words: why, how much, what next, the claim link
where one is needed, escaped in HTML, and never a key."""

from decimal import Decimal
from email.message import EmailMessage
from uuid import UUID

import pytest
from delivery_support import email_parts

from bitloot_delivery.domain.emails import EmailKind
from bitloot_delivery.domain.refund_notices import (
    RefundNotice,
    carries_claim_link,
    compose_refund_email,
    wording_of,
)

ORDER = UUID("3f0c2a9e-5b1d-4c8e-9a7f-1e2d3c4b5a69")
LINK = "https://pay.bitloot.io/refunds/claim?token=a.b&c"


def notice(**changes: object) -> RefundNotice:
    values: dict[str, object] = {
        "refund_id": 7,
        "order_id": ORDER,
        "reason": "order_failed",
        "cause": "reservation",
        "amount": Decimal("0.00123000"),
        "currency": "btc",
    }
    return RefundNotice(**{**values, **changes})  # type: ignore[arg-type]


def email(kind: EmailKind, refund: RefundNotice) -> EmailMessage:
    link = LINK if carries_claim_link(kind) else None
    return compose_refund_email(
        sender="keys@bitloot.io",
        to="buyer@example.com",
        wording=wording_of(kind, refund, 7),
        message_id="<1@bitloot.io>",
        support_email="help@bitloot.io",
        link=link,
    )


def text_of(message: EmailMessage) -> str:
    return " ".join(email_parts(message)[0].split())  # unwrapped, to read sentences whole


def html_of(message: EmailMessage) -> str:
    return email_parts(message)[1]


def test_the_failed_order_email_says_why_that_no_key_was_bought_and_how_to_claim() -> None:
    message = email(EmailKind.REFUND_DUE, notice())
    text = text_of(message)
    assert message["Subject"] == "Your BitLoot order: your money is coming back"
    assert text.startswith(
        "Hello, we could not get your game's key from our supplier: it was out of stock"
    )
    assert "No key was bought for your order, so you get your money back." in text
    assert f"We owe you 0.00123 BTC for order {ORDER}." in text
    assert "give us a BTC address" in text
    assert "Our team checks and approves the refund." in text
    assert "email you the transaction id" in text
    assert LINK in text
    assert "The link works for 7 days." in text
    # The link is a styled button now (issue #21): its address escaped, its label kept.
    markup = html_of(message)
    assert f'<a href="{LINK.replace("&", "&amp;")}" style=' in markup
    assert ">Claim my refund</a>" in markup


@pytest.mark.parametrize(
    ("reason", "cause", "what", "means"),
    [
        ("order_failed", "kinguin", "they canceled the order", "No key was bought"),
        ("order_failed", "deadline", "they did not deliver it in time", "No key was bought"),
        ("order_failed", "delivery", "could not be stored safely", "You will not receive a key"),
        ("order_failed", None, "from our supplier.", "No key was bought"),
        ("keys_unrevealed", None, "refunded and its keys withdrawn", "You get your money back."),
        ("late_payment", None, "after the invoice had expired", "No key was bought with this"),
        ("underpaid", None, "less than the price of your order", "No key was bought with this"),
        ("paid_twice", None, "your order was paid twice", "No key was bought with this"),
        ("overpaid", None, "more than the price", "you get the difference back"),
        ("something_new", None, "a payment for your order could not be used", "No key"),
    ],
)
def test_each_reason_is_told_in_plain_words(
    reason: str, cause: str | None, what: str, means: str
) -> None:
    text = text_of(email(EmailKind.REFUND_DUE, notice(reason=reason, cause=cause)))
    assert what in text
    assert means in text
    assert "_" not in text  # no reason or stage code is shown to the customer


def test_the_sent_email_has_the_amount_and_transaction_and_no_link() -> None:
    message = email(EmailKind.REFUND_SENT, notice(transaction_id="0xabc123"))
    text = text_of(message)
    assert message["Subject"] == "Your BitLoot refund has been sent"
    assert f"we have sent your refund of 0.00123 BTC for order {ORDER}." in text
    assert "Transaction id: 0xabc123" in text
    assert not carries_claim_link(EmailKind.REFUND_SENT)  # nor when made outside BitLoot
    assert "http" not in text
    assert "href" not in html_of(message)


def test_a_refund_made_outside_shows_the_admins_note_escaped() -> None:
    refund = notice(outside=True, note="Bank transfer <ref 42> & thanks")
    message = email(EmailKind.REFUND_SENT, refund)
    assert message["Subject"] == "Your BitLoot refund has been made"
    assert "A note from our team: Bank transfer <ref 42> & thanks" in text_of(message)
    assert "Bank transfer &lt;ref 42&gt; &amp; thanks" in html_of(message)
    assert "<ref 42>" not in html_of(message)


def test_a_claim_link_email_carries_the_new_link_and_the_amount() -> None:
    message = email(EmailKind.CLAIM_LINK, notice(currency="usdttrc20", amount=Decimal("25")))
    text = text_of(message)
    assert message["Subject"] == "A new link to claim your BitLoot refund"
    assert f"claim your refund of 25 USDTTRC20 for order {ORDER}." in text
    assert LINK in text


def test_a_notice_survives_the_email_log_as_json() -> None:
    refund = notice(transaction_id="tx", note="n", outside=True)
    assert RefundNotice.from_json(refund.to_json()) == refund
