import random
from datetime import timedelta
from decimal import Decimal
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.policy import default
from uuid import UUID

from delivery_support import email_parts

from bitloot_delivery.domain.emails import (
    POLICY,
    AfterCut,
    EmailKind,
    SmtpStage,
    after_cut,
    compose,
    lifetime,
    new_message,
    new_message_id,
    retry_delay,
)
from bitloot_delivery.domain.summaries import OrderSummary, SummaryLine

ORDER = UUID("3f0c2a9e-5b1d-4c8e-9a7f-1e2d3c4b5a69")


def key_email(
    summary: OrderSummary | None,
    kind: EmailKind = EmailKind.DELIVERY,
    link: str = "https://keys.bitloot.io/keys/t",
    message_id: str = "<m@bitloot.io>",
) -> EmailMessage:
    return compose(
        sender="keys@bitloot.io",
        to="a@example.com",
        link=link,
        ttl_minutes=15,
        kind=kind,
        message_id=message_id,
        order_id=ORDER,
        summary=summary,
        support_email="help@bitloot.io",
    )


def test_the_key_email_names_order_products_amount_lifetime_and_support_in_both_parts() -> None:
    summary = OrderSummary(
        Decimal("25.50"),
        "usd",
        (SummaryLine("k1", 2, "Hollow Knight", "Steam"), SummaryLine("k2", 1, "Celeste")),
    )
    for kind in (EmailKind.DELIVERY, EmailKind.FRESH_LINK):
        text, markup = email_parts(key_email(summary, kind))
        for part in (text, markup):
            assert str(ORDER) in part
            assert "Hollow Knight" in part
            assert "Celeste" in part
            assert "25.5 USD" in part
            assert "15 minutes" in part
            assert "help@bitloot.io" in part


def test_without_a_summary_the_key_email_names_the_order_and_claims_nothing_else() -> None:
    text, markup = email_parts(key_email(None))
    for part in (text, markup):
        assert str(ORDER) in part
        assert "help@bitloot.io" in part
        assert "Amount paid" not in part
        assert "Products" not in part


def test_a_hostile_title_is_text_in_the_html_part() -> None:
    summary = OrderSummary(Decimal(1), "btc", (SummaryLine("k1", 1, '<img src=x onerror="a()">'),))
    text, markup = email_parts(key_email(summary))
    assert "<img" not in markup
    assert "&lt;img src=x onerror=&#34;a()&#34;&gt;" in markup
    assert '<img src=x onerror="a()">' in text


def test_a_link_lifetime_reads_as_words() -> None:
    assert [lifetime(m) for m in (1, 15, 2.5, 60, 120)] == [
        "1 minute",
        "15 minutes",
        "2.5 minutes",
        "1 hour",
        "2 hours",
    ]


def test_the_email_carries_the_link_as_text_and_html() -> None:
    link = "https://keys.bitloot.io/keys/a.b.c?x=1&y=2"
    message_id = new_message_id("keys@bitloot.io")
    message = key_email(None, link=link, message_id=message_id)
    text, markup = email_parts(message)
    assert link in text
    assert "15 minutes" in text
    assert 'href="https://keys.bitloot.io/keys/a.b.c?x=1&amp;y=2"' in markup
    assert message["To"] == "a@example.com"
    assert message["Message-ID"] == message_id
    assert message["Subject"] == "Your BitLoot keys are ready"


def test_a_fresh_link_email_says_so_and_message_ids_are_unique_in_our_domain() -> None:
    first, second = new_message_id("keys@bitloot.io"), new_message_id("keys@bitloot.io")
    assert first != second
    assert first.endswith("@bitloot.io>")
    message = key_email(None, EmailKind.FRESH_LINK, message_id=first)
    assert message["Subject"] == "A new link to your BitLoot keys"


def test_retries_back_off_to_a_ceiling() -> None:
    delays = [retry_delay(attempt) for attempt in range(1, 12)]
    assert delays[:3] == [timedelta(seconds=5), timedelta(seconds=10), timedelta(seconds=20)]
    assert delays == sorted(delays)
    assert delays[-1] == timedelta(minutes=30)


def test_an_attempt_cut_before_data_is_always_sent_again() -> None:
    assert after_cut(SmtpStage.BEFORE_DATA, 0) is AfterCut.RESEND
    assert after_cut(SmtpStage.BEFORE_DATA, 1) is AfterCut.RESEND


def test_an_attempt_cut_during_data_is_sent_once_more_then_left_unconfirmed() -> None:
    assert after_cut(SmtpStage.DATA, 0) is AfterCut.RESEND_ONCE
    assert after_cut(SmtpStage.DATA, 1) is AfterCut.UNCONFIRMED


def test_an_attempt_with_no_recorded_stage_may_have_begun_data() -> None:
    assert after_cut(None, 0) is AfterCut.RESEND_ONCE
    assert after_cut(None, 1) is AfterCut.UNCONFIRMED


def test_emails_are_the_bytes_the_standard_policy_makes_with_header_classes_made_once() -> None:
    def composed(message: EmailMessage) -> bytes:
        message["From"] = "BitLoot <keys@bitloot.io>"
        message["To"] = "Bü Yer <a@example.com>"
        message["Subject"] = "Your keys, ünïcode and a subject long enough to be folded " * 2
        message.set_content("a line\n" + "x" * 200 + "\n")
        message.add_alternative("<p>" + "y=" * 100 + "</p>", subtype="html")
        random.seed(7)  # the same MIME boundary
        return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))

    assert composed(new_message()) == composed(EmailMessage(policy=default))
    headers = POLICY.header_factory
    assert isinstance(headers, HeaderRegistry)
    assert headers["Subject"] is headers["subject"]
