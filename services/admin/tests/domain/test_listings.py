"""Which filters reach a service, and how the next page is named."""

import pytest
from pydantic import JsonValue

from bitloot_admin.domain.cells import kind_of, products, row_cells
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
    assert next_page(LISTINGS["sagas"], {"next": "WzUwXQ"}) == {"cursor": "WzUwXQ"}
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


def test_a_cell_is_shown_as_its_field_and_value_say() -> None:
    assert [
        kind_of("created_at", "2026-12-06T01:02:03Z"),
        kind_of("state", "failed"),
        kind_of("keys_count", 0.0),
        kind_of("pay_amount", "4.99"),
        kind_of("duplicate", False),
        kind_of("lines", [{"sku": "cs-source", "qty": 1}]),
        kind_of("detail", "Paid twice."),
        kind_of("note", None),
    ] == ["time", "status", "count", "amount", "yes_no", "products", "text", "none"]


def test_an_orders_lines_are_named_by_the_catalogs_titles() -> None:
    titles = {"cs-source": "Counter-Strike: Source", "kg-1": "Counter-Strike: Source"}
    lines: JsonValue = [{"qty": 2, "sku": "cs-source"}, {"kinguin_product_id": "kg-1", "qty": 1}]
    assert products(lines, titles) == [
        "2 \N{MULTIPLICATION SIGN} Counter-Strike: Source",
        "1 \N{MULTIPLICATION SIGN} Counter-Strike: Source",
    ]
    assert products([{"qty": 1, "kinguin_product_id": "kg-9"}], titles) == [
        "1 \N{MULTIPLICATION SIGN} kg-9"
    ]


def test_a_listing_leaves_out_its_hidden_fields_and_shows_a_uuid_short() -> None:
    payments = LISTINGS["payments"]
    item = {
        "payment_id": "np-1",
        "order_id": "b9d5a1f2-0000-4000-8000-000000000002",
        "pay_amount": "4.99",
        "pay_currency": "usdttrc20",
        "parent_payment_id": None,
    }
    header = columns([item], payments.hidden)
    assert header == ["payment_id", "order_id", "pay_amount"]
    _payment, order, paid = row_cells(payments, header, item, {})
    assert (order.text, order.title, order.href) == (
        "b9d5a1f2\N{HORIZONTAL ELLIPSIS}",
        item["order_id"],
        f"/admin/orders/{item['order_id']}",
    )
    assert (paid.kind, paid.currency) == ("amount", "usdttrc20")
