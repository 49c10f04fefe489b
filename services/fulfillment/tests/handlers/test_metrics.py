"""Fulfillment's business metrics on real RabbitMQ and PostgreSQL: orders fulfilled and
failed counted once as their saga's step commits, sagas open by state from the database."""

from datetime import timedelta
from uuid import UUID, uuid4

from fulfillment_support import completed, payment, publish, reported, reserved, saga_in_state
from sqlalchemy import func, update

from bitloot_contracts.events import (
    ReservationCreated,
    ReservationFailed,
)
from bitloot_fulfillment.adapters.orm import sagas
from bitloot_fulfillment.metrics import failure_reason
from bitloot_runtime.service import ServiceRuntime


def value(runtime: ServiceRuntime, name: str, **labels: str) -> float:
    found = runtime.metrics.registry.get_sample_value(name, {"service": "fulfillment", **labels})
    return found or 0.0


async def test_fulfilled_and_failed_orders_are_counted_once_and_open_sagas_by_state(
    fulfillment: ServiceRuntime,
) -> None:
    done, failed, waiting = uuid4(), uuid4(), uuid4()
    await publish(fulfillment, payment(waiting))
    await publish(fulfillment, payment(done))
    await publish(fulfillment, reserved(done, "K-1"))
    await publish(fulfillment, reported(done, "K-1"))
    delivered = completed(done)
    await publish(fulfillment, delivered)
    await publish(fulfillment, delivered.model_copy(update={"event_id": uuid4()}))
    await saga_in_state(fulfillment, done, "fulfilled")
    await publish(fulfillment, payment(failed))
    refused = ReservationFailed(
        order_id=failed, code="product_unavailable", reason="Kinguin refused: sold out"
    )
    await publish(fulfillment, refused)
    await saga_in_state(fulfillment, failed, "failed")
    await fulfillment.refresh_gauges()
    assert value(fulfillment, "bitloot_orders_fulfilled_total") == 1
    assert value(fulfillment, "bitloot_orders_failed_total", reason="out_of_stock") == 1
    assert value(fulfillment, "bitloot_sagas_open", state="reserving") == 1
    assert value(fulfillment, "bitloot_sagas_open", state="delivering") == 0
    text = fulfillment.metrics.render()[0].decode()
    for order_id in (done, failed, waiting):
        assert str(order_id) not in text


def test_failure_reasons_are_bounded() -> None:
    assert failure_reason("reservation", "price_above_maximum: 3 > 2") == "price_changed"
    assert failure_reason("reservation", "anything a provider invents: x") == "reservation_refused"
    assert failure_reason("kinguin", "Kinguin order canceled before delivery") == "kinguin_canceled"
    assert failure_reason("deadline", "no completion within 1:00:00") == "timeout"
    assert failure_reason("somewhere new", "x") == "other"


async def test_the_oldest_untold_saga_leaves_out_preorders_whose_customer_was_told(
    fulfillment: ServiceRuntime,
) -> None:
    """What on-call is paged on: a preorder paid two days ago is explained to its customer
    and has its own deadline; an ordinary order waiting 20 minutes is not."""
    waiting, preorder = uuid4(), uuid4()
    await publish(fulfillment, payment(waiting))
    await publish(fulfillment, payment(preorder))
    created = ReservationCreated(
        order_id=preorder, kinguin_order_id="K-9", status="processing", is_preorder=True
    )
    await publish(fulfillment, created)
    await saga_in_state(fulfillment, preorder, "reserved")
    await fulfillment.refresh_gauges()
    assert value(fulfillment, "bitloot_oldest_untold_saga_seconds") < 600
    await backdate(fulfillment, preorder, timedelta(days=2))
    await backdate(fulfillment, waiting, timedelta(minutes=20))
    await fulfillment.refresh_gauges()
    assert 1200 <= value(fulfillment, "bitloot_oldest_untold_saga_seconds") < 1800


async def backdate(runtime: ServiceRuntime, order_id: UUID, age: timedelta) -> None:
    async with runtime.engine.begin() as connection:
        await connection.execute(
            update(sagas).where(sagas.c.order_id == order_id).values(created_at=func.now() - age)
        )
