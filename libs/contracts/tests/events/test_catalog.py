import json
from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import pytest
from pydantic import ValidationError

from bitloot_contracts.events import ProductAvailabilityChanged, ProductListed, parse_event
from bitloot_contracts.topics import CATALOG_PRODUCT_LISTED, PRODUCT_AVAILABILITY_CHANGED

PRODUCT_ID = "5c9b5f6b2539a4e8f172916a"
OBSERVED = datetime(2020, 10, 16, 11, 24, 8, tzinfo=UTC)


def availability(**changes: object) -> ProductAvailabilityChanged:
    values: dict[str, object] = {
        "kinguin_product_id": PRODUCT_ID,
        "qty": 3,
        "price": Decimal("4.99"),
        "is_preorder": False,
        "release_date": None,
        "observed_at": OBSERVED,
        **changes,
    }
    return ProductAvailabilityChanged.model_validate(values)


def test_product_events_concern_no_order() -> None:
    listed = ProductListed(kinguin_product_id=PRODUCT_ID, active=True)
    assert listed.order_id is None
    assert json.loads(listed.model_dump_json())["order_id"] is None
    with pytest.raises(ValidationError, match="order_id"):
        ProductListed(order_id=uuid4(), kinguin_product_id=PRODUCT_ID, active=True)


def test_price_travels_as_a_decimal_string_and_may_be_unknown() -> None:
    body = json.loads(availability(price=Decimal("2.5E+1")).model_dump_json())
    assert body["price"] == "25"
    assert availability(price=None).price is None


@pytest.mark.parametrize("qty", [-1, 1.5])
def test_quantity_is_a_whole_number_of_keys_or_zero(qty: object) -> None:
    assert availability(qty=0).qty == 0
    with pytest.raises(ValidationError, match="qty"):
        availability(qty=qty)


def test_both_round_trip_through_their_topics() -> None:
    listed = ProductListed(kinguin_product_id=PRODUCT_ID, active=False)
    assert parse_event(CATALOG_PRODUCT_LISTED, listed.model_dump_json().encode()) == listed
    changed = availability()
    assert parse_event(PRODUCT_AVAILABILITY_CHANGED, changed.model_dump_json().encode()) == changed
