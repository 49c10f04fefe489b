"""Which filters reach a service, and how the next page is named."""

import pytest

from bitloot_admin.domain.listings import (
    LISTINGS,
    BadFilter,
    chosen_filters,
    columns,
    link,
    next_page,
)


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


def test_ids_link_to_the_pages_of_what_they_name_and_nothing_else_does() -> None:
    flags = LISTINGS["flags"]
    assert link(flags, "id", 12) == "/admin/flags/12"
    assert link(flags, "order_id", "0f0e") == "/admin/orders/0f0e"
    assert link(LISTINGS["payments"], "flag_id", 12) == "/admin/flags/12"
    assert link(LISTINGS["payments"], "refund_id", 7) == "/admin/refunds/7"
    assert link(LISTINGS["ipns"], "id", 40) == "/admin/ipns/40"
    assert link(LISTINGS["ipns"], "payment_id", "a/b?c") == "/admin/payments/a%2Fb%3Fc"
    assert link(flags, "kind", "late_payment") is None
    assert link(flags, "ipn_id", None) is None
    assert link(flags, "id", True) is None
