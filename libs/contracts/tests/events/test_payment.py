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
