"""The filters every admin template formats with: times relative with the exact UTC time
on hover, counts as whole numbers, amounts with their currency, statuses as chips, column
names in words (issue #21: timestamps to the microsecond, counts as ``0.0``, snake_case)."""

from datetime import UTC, datetime, timedelta

import pytest

from bitloot_admin.entrypoints.context import templates
from bitloot_admin.entrypoints.formats import (
    ago,
    amount,
    chip,
    count,
    label,
    pairs,
    relative,
    utc,
)

NOW = datetime(2026, 12, 6, 1, 5, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("then", "said"),
    [
        (NOW - timedelta(seconds=2), "just now"),
        (NOW - timedelta(seconds=42), "42 s ago"),
        (NOW - timedelta(minutes=3, seconds=10), "3 min ago"),
        (NOW - timedelta(hours=5, minutes=59), "5 h ago"),
        (NOW - timedelta(days=2, hours=3), "2 d ago"),
        (NOW + timedelta(minutes=3, seconds=1), "in 3 min"),
        (NOW - timedelta(days=45), "2026-10-22"),
    ],
)
def test_a_time_is_said_relative_to_now(then: datetime, said: str) -> None:
    assert relative(then, NOW) == said


def test_a_time_element_holds_the_exact_utc_time_to_the_second() -> None:
    sent = "2026-12-06T02:02:00.123456+01:00"
    assert str(ago(sent, NOW)) == (
        '<time datetime="2026-12-06T01:02:00Z" title="2026-12-06 01:02:00 UTC">3 min ago</time>'
    )
    assert utc(datetime(2026, 12, 6, 1, 2, 3, 999999)) == "2026-12-06 01:02:03 UTC"
    assert str(ago(None)) == "—"
    assert str(ago("<not a time>")) == "&lt;not a time&gt;"


@pytest.mark.parametrize(
    ("value", "said"), [(0.0, "0"), ("3", "3"), (1234567, "1,234,567"), (None, "—")]
)
def test_a_count_is_a_whole_number(value: object, said: str) -> None:
    assert count(value) == said


@pytest.mark.parametrize(
    ("value", "currency", "said"),
    [
        ("12.5", "usd", "12.50 USD"),
        ("25.10000000", "usdttrc20", "25.10 USDTTRC20"),
        ("0.000123456789", "btc", "0.00012346 BTC"),
        ("1234.5", None, "1,234.50"),
        (3, "eur", "3.00 EUR"),
        (None, "eur", "—"),
    ],
)
def test_an_amount_has_two_to_eight_decimals_and_its_currency(
    value: object, currency: str | None, said: str
) -> None:
    assert amount(value, currency) == said


def test_a_status_is_an_escaped_chip_and_a_column_name_words() -> None:
    assert str(chip("refund_due")) == '<span class="status status-refund_due">refund due</span>'
    assert "<b>" not in str(chip("<b>x</b>"))
    assert (label("created_at"), label("kinguin_status"), label("order_id")) == (
        "Created",
        "Kinguin status",
        "Order",
    )


def test_every_template_gets_the_filters() -> None:
    environment = templates()
    shown = environment.from_string("{{ when | ago }} {{ n | count }}").render(when=None, n=2.0)
    assert shown == "— 2"


def test_a_small_object_reads_as_pairs_not_json() -> None:
    assert (
        pairs({"known": True, "via": "cli", "order_id": None}) == "known: yes, via: cli, order: —"
    )
    assert (pairs({}), pairs(None), pairs([1])) == ("—", "—", "[1]")
