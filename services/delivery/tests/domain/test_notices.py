from datetime import date
from email.message import EmailMessage
from uuid import UUID

from delivery_support import email_parts

from bitloot_delivery.domain.notices import DelayNotice, compose_notice, long_date

ORDER = UUID("3f0c2a9e-5b1d-4c8e-9a7f-1e2d3c4b5a69")


def parts(notice: DelayNotice) -> tuple[EmailMessage, str, str]:
    message = compose_notice(
        sender="keys@bitloot.io",
        to="a@example.com",
        notice=notice,
        message_id="<m@bitloot.io>",
        order_id=ORDER,
        support_email="help@bitloot.io",
    )
    text, markup = email_parts(message)
    return message, text, markup


def test_a_dated_preorder_names_its_release_day_in_subject_and_body() -> None:
    message, text, markup = parts(DelayNotice(is_preorder=True, release_date=date(2026, 12, 24)))
    assert message["Subject"] == "Your BitLoot preorder: keys on 24 December 2026"
    assert "preorder" in text
    assert "24 December 2026" in text
    assert "24 December 2026" in markup
    assert "we will email you a link" in text
    assert (message["To"], message["Message-ID"]) == ("a@example.com", "<m@bitloot.io>")


def test_a_slow_order_is_told_it_is_delayed_not_that_it_is_a_preorder() -> None:
    message, text, markup = parts(DelayNotice(is_preorder=False, release_date=date(2027, 1, 2)))
    assert message["Subject"] == "Your BitLoot order is delayed"
    assert "longer than usual" in text
    assert "preorder" not in text + markup
    assert "2027" not in text + markup


def test_an_undated_preorder_promises_no_day() -> None:
    message, text, _ = parts(DelayNotice(is_preorder=True))
    assert message["Subject"] == "Your BitLoot preorder: keys on release day"
    assert "when the game is released." in text


def test_no_notice_carries_a_link() -> None:
    for notice in (DelayNotice(False), DelayNotice(True), DelayNotice(True, date(2026, 3, 1))):
        _, text, markup = parts(notice)
        assert "http" not in text
        assert "/keys/" not in text + markup
        assert "<a " not in markup
        assert "href" not in markup


def test_dates_are_written_out_whatever_the_locale() -> None:
    assert long_date(date(2027, 1, 2)) == "2 January 2027"


def test_every_notice_names_the_order_and_whom_to_write_to() -> None:
    for notice in (DelayNotice(False), DelayNotice(True), DelayNotice(True, date(2026, 3, 1))):
        _, text, markup = parts(notice)
        for part in (text, markup):
            assert str(ORDER) in part
            assert "help@bitloot.io" in part
