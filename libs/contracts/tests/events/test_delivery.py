from uuid import uuid4

import pytest
from pydantic import ValidationError

from bitloot_contracts.events import DeliveryCompleted, DeliveryFailed


def test_delivery_completed_needs_at_least_one_key() -> None:
    with pytest.raises(ValidationError, match="key_count"):
        DeliveryCompleted(order_id=uuid4(), key_count=0, email_sent=True)


def test_delivery_completed_says_whether_the_email_went_out() -> None:
    event = DeliveryCompleted(order_id=uuid4(), key_count=1, email_sent=False)
    assert event.email_sent is False


def test_delivery_failed_code_must_be_machine_readable() -> None:
    with pytest.raises(ValidationError, match="code"):
        DeliveryFailed(order_id=uuid4(), code="SMTP down!", reason="connection refused")
