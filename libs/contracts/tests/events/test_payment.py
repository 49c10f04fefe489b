import json
from collections.abc import Mapping
from decimal import Decimal
from uuid import uuid4

import pytest
from pydantic import ValidationError

from bitloot_contracts.events import Event, OrderLine, PaymentFinished, PaymentStatusChanged
from bitloot_contracts.topics import PAYMENT_FINISHED, PAYMENT_STATUS_CHANGED


def _line(qty: int = 1) -> OrderLine:
    return OrderLine(sku="sku-1", kinguin_product_id="p-1", qty=qty, max_unit_price=Decimal("5"))


def _finished(**changes: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "order_id": uuid4(),
        "payment_id": "55",
        "amount": Decimal("10.50"),
        "currency": "usdttrc20",
        "customer_email": "buyer@example.com",
        "lines": (_line(),),
    }
    return {**fields, **changes}


def test_payment_events_are_published_on_their_topics() -> None:
    assert PaymentFinished.topic == PAYMENT_FINISHED
    assert PaymentStatusChanged.topic == PAYMENT_STATUS_CHANGED


def test_payment_finished_money_travels_as_strings(samples: Mapping[str, Event]) -> None:
    body = json.loads(samples[PAYMENT_FINISHED].model_dump_json())
    assert body["amount"] == "0.00123"
    assert body["lines"][0]["max_unit_price"] == "39.90"


def test_payment_finished_email_is_normalised() -> None:
    event = PaymentFinished.model_validate(_finished(customer_email="Buyer@Example.com"))
    assert event.customer_email == "buyer@example.com"


@pytest.mark.parametrize("count", [0, 11])
def test_payment_finished_needs_one_to_ten_lines(count: int) -> None:
    with pytest.raises(ValidationError, match="lines"):
        PaymentFinished.model_validate(_finished(lines=tuple(_line() for _ in range(count))))


def test_payment_finished_accepts_ten_lines() -> None:
    event = PaymentFinished.model_validate(_finished(lines=tuple(_line() for _ in range(10))))
    assert len(event.lines) == 10


def test_order_line_quantity_above_nine_is_rejected() -> None:
    with pytest.raises(ValidationError, match="qty"):
        _line(qty=10)


def test_payment_finished_for_nothing_is_rejected() -> None:
    with pytest.raises(ValidationError, match="amount"):
        PaymentFinished.model_validate(_finished(amount=Decimal(0)))


def test_unknown_payment_status_is_rejected() -> None:
    with pytest.raises(ValidationError, match="status"):
        PaymentStatusChanged.model_validate(
            {"order_id": uuid4(), "payment_id": "55", "status": "paid"}
        )


def test_first_payment_status_has_no_previous_status() -> None:
    event = PaymentStatusChanged(order_id=uuid4(), payment_id="55", status="waiting")
    assert event.previous_status is None


def test_a_version_1_payment_finished_without_titles_still_parses() -> None:
    """A message published before version 2 (no title or platform on its lines, as
    still in flight or parked on a queue) is read with both None."""
    body = {
        "event_id": str(uuid4()),
        "order_id": str(uuid4()),
        "occurred_at": "2026-12-01T10:00:00Z",
        "schema_version": 1,
        "payment_id": "55",
        "amount": "10.5",
        "currency": "usdttrc20",
        "customer_email": "buyer@example.com",
        "lines": [{"sku": "s", "kinguin_product_id": "p", "qty": 1, "max_unit_price": "5"}],
    }
    event = PaymentFinished.model_validate_json(json.dumps(body))
    assert event.schema_version == 1
    assert (event.lines[0].title, event.lines[0].platform) == (None, None)


def test_payment_finished_version_2_carries_each_line_title_and_platform() -> None:
    line = OrderLine(
        sku="s",
        kinguin_product_id="p",
        qty=1,
        max_unit_price=Decimal("5"),
        title="Game",
        platform="Steam",
    )
    event = PaymentFinished.model_validate(_finished(lines=(line,)))
    body = json.loads(event.model_dump_json())
    assert body["schema_version"] == 3
    assert (body["lines"][0]["title"], body["lines"][0]["platform"]) == ("Game", "Steam")
    assert PaymentFinished.model_validate_json(event.model_dump_json()) == event
