from uuid import uuid4

import pytest
from pydantic import ValidationError

from bitloot_contracts.events import OrderFailed, OrderFulfilled, OrderStatusChanged


def test_unknown_order_state_is_rejected() -> None:
    with pytest.raises(ValidationError, match="status"):
        OrderStatusChanged.model_validate({"order_id": uuid4(), "status": "shipped"})


def test_first_transition_has_no_previous_status_or_reason() -> None:
    event = OrderStatusChanged(order_id=uuid4(), status="paid")
    assert (event.previous_status, event.reason) == (None, None)


def test_order_failed_needs_a_stage_and_a_reason() -> None:
    with pytest.raises(ValidationError, match="reason"):
        OrderFailed(order_id=uuid4(), stage="reserving", reason="")
    with pytest.raises(ValidationError, match="stage"):
        OrderFailed(order_id=uuid4(), stage="", reason="out of stock")


def test_order_fulfilled_needs_at_least_one_key() -> None:
    with pytest.raises(ValidationError, match="key_count"):
        OrderFulfilled(order_id=uuid4(), key_count=0)
