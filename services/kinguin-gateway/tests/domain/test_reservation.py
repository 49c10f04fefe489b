"""The reservation rules, pure: price ceiling, status spelling, news by updatedAt."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bitloot_kinguin_gateway.domain.reservation import (
    PriceAboveMaximum,
    as_kinguin_status,
    check_price,
    expected_key_count,
    is_newer,
)


def test_a_price_up_to_the_maximum_is_the_price_offered() -> None:
    assert check_price("p", Decimal("2.50"), Decimal("3.00")) == Decimal("2.50")
    assert check_price("p", Decimal("3.00"), Decimal("3.00")) == Decimal("3.00")


def test_a_price_a_cent_above_the_maximum_is_refused_with_both_figures() -> None:
    with pytest.raises(PriceAboveMaximum) as refused:
        check_price("prod-x", Decimal("3.01"), Decimal("3.00"))
    assert refused.value.code == "price_above_maximum"
    assert "prod-x" in str(refused.value)
    assert "3.01" in str(refused.value)
    assert "3.00" in str(refused.value)


def test_kinguin_statuses_are_normalised_and_unknown_ones_refused() -> None:
    assert as_kinguin_status("completed") == "completed"
    assert as_kinguin_status(" Completed ") == "completed"
    assert as_kinguin_status("CANCELED") == "canceled"
    assert as_kinguin_status("shipped") is None
    assert as_kinguin_status(None) is None


def test_only_a_strictly_later_update_is_news() -> None:
    now = datetime.now(UTC)
    assert is_newer(now, None)
    assert is_newer(now + timedelta(milliseconds=1), now)
    assert not is_newer(now, now)
    assert not is_newer(now - timedelta(seconds=1), now)
    assert not is_newer(None, now)


def test_the_keys_expected_are_the_sum_of_the_quantities_bought() -> None:
    assert expected_key_count([{"qty": 2}, {"qty": 9}]) == 11
    with pytest.raises(TypeError):
        expected_key_count([{"qty": "2"}])
