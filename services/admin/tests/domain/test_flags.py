"""A decision's note, the decisions a flag page offers, and a flag's amounts."""

import pytest

from bitloot_admin.domain.flags import (
    DECISIONS,
    MAX_NOTE,
    NoteTooLong,
    amounts,
    clean_note,
    open_decisions,
)


def test_a_note_keeps_its_text_with_plain_line_breaks_and_a_blank_one_is_none() -> None:
    assert clean_note("  Paid late;\r\ncustomer asked.  ") == "Paid late;\ncustomer asked."
    assert clean_note(" \r\n ") is None
    assert clean_note(None) is None


def test_a_note_of_payments_limit_is_kept_and_a_longer_one_refused() -> None:
    assert clean_note("é" * MAX_NOTE) == "é" * MAX_NOTE
    # A form's CRLF counts as one character, as it will at payments.
    assert clean_note("a\r\n" * (MAX_NOTE // 2)) is not None
    with pytest.raises(NoteTooLong, match="2001 characters"):
        clean_note("x" * (MAX_NOTE + 1))


def test_only_decisions_the_admin_knows_are_offered_in_payments_order() -> None:
    offered = open_decisions(["dismiss", "launch-rocket", "accept"])
    assert [decision.name for decision in offered] == ["dismiss", "accept"]


def test_accept_and_refund_due_ask_first_and_dismiss_needs_a_note() -> None:
    asked = {name for name, decision in DECISIONS.items() if decision.confirm is not None}
    assert asked == {"accept", "refund-due"}
    assert [d.name for d in DECISIONS.values() if d.note_required] == ["dismiss"]


def test_amounts_read_price_asked_and_paid_with_their_currency_then_the_rest_filled_in() -> None:
    data = {
        "difference": "-2.5",
        "actually_paid": "22.6",
        "pay_currency": "usdttrc20",
        "price_amount": "25",
        "price_currency": "usd",
        "pay_amount": "25.1",
        "parent_payment_id": None,
    }
    assert amounts(data) == [
        ("Order price", "25 usd"),
        ("Asked to pay", "25.1 usdttrc20"),
        ("Actually paid", "22.6 usdttrc20"),
        ("Difference", "-2.5"),
    ]
