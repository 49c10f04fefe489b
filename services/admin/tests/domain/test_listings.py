"""Which filters reach a service, and how the next page is named."""

import pytest

from bitloot_admin.domain.listings import LISTINGS, BadFilter, chosen_filters, columns, next_page


def test_only_the_listings_filters_and_its_page_parameter_are_passed_on() -> None:
    query = {"status": "finished", "order_id": "", "cursor": "abc", "evil": "x"}
    assert chosen_filters(LISTINGS["payments"], query) == {"status": "finished", "cursor": "abc"}


@pytest.mark.parametrize("value", ["a b", "<script>", "x" * 129, "a&b=c"])
def test_a_filter_value_that_is_not_a_plain_token_is_refused(value: str) -> None:
    with pytest.raises(BadFilter):
        chosen_filters(LISTINGS["sagas"], {"state": value})


def test_the_next_page_is_named_by_the_listings_own_page_parameter() -> None:
    assert next_page(LISTINGS["sagas"], {"next_offset": 50}) == {"offset": "50"}
    assert next_page(LISTINGS["ipns"], {"next": 17}) == {"before": "17"}
    assert next_page(LISTINGS["payments"], {"next": None}) is None


def test_columns_are_every_field_in_first_seen_order() -> None:
    assert columns([{"a": 1, "b": 2}, {"c": 3, "a": 4}]) == ["a", "b", "c"]
