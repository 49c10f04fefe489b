from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

import pytest
from pydantic import ValidationError

from bitloot_contracts.events import (
    KinguinWebhook,
    ReservationCreated,
    ReservationFailed,
    ReservationLine,
    ReservationPoll,
    ReservationRequested,
)


def _line() -> ReservationLine:
    return ReservationLine(kinguin_product_id="p-1", qty=9, max_unit_price=Decimal("0"))


@pytest.mark.parametrize("count", [0, 11])
def test_reservation_requested_needs_one_to_ten_lines(count: int) -> None:
    with pytest.raises(ValidationError, match="lines"):
        ReservationRequested(order_id=uuid4(), lines=tuple(_line() for _ in range(count)))


def test_reservation_poll_may_omit_the_kinguin_order_id() -> None:
    assert ReservationPoll(order_id=uuid4(), attempt=1).kinguin_order_id is None


def test_reservation_poll_attempts_start_at_one() -> None:
    with pytest.raises(ValidationError, match="attempt"):
        ReservationPoll(order_id=uuid4(), attempt=0)


def test_unknown_kinguin_status_is_rejected() -> None:
    with pytest.raises(ValidationError, match="status"):
        ReservationCreated.model_validate(
            {"order_id": uuid4(), "kinguin_order_id": "K1", "status": "cancelled"}
        )


def test_reservation_failure_needs_a_machine_code_and_a_reason() -> None:
    with pytest.raises(ValidationError, match="code"):
        ReservationFailed(order_id=uuid4(), code="Out Of Stock", reason="none left")
    with pytest.raises(ValidationError, match="reason"):
        ReservationFailed(order_id=uuid4(), code="out_of_stock", reason="")


def test_kinguin_webhook_needs_an_aware_updated_at() -> None:
    with pytest.raises(ValidationError, match="updated_at"):
        KinguinWebhook(
            order_id=uuid4(),
            kinguin_order_id="K1",
            status="completed",
            updated_at=datetime(2024, 5, 1, 12, 30),
        )
    aware = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    event = KinguinWebhook(
        order_id=uuid4(), kinguin_order_id="K1", status="completed", updated_at=aware
    )
    assert event.updated_at == aware
