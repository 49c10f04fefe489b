"""Fulfillment's use cases on the in-memory repositories: what each handler stores and
emits, and what it refuses (the real-database tests prove the guarantees)."""

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from fulfillment_fakes import FakeFulfillmentWork
from fulfillment_sagas import POLICY, T0, payment_finished
from fulfillment_support import refund_report

from bitloot_contracts.events import (
    DeliveryCompleted,
    KeysDelivered,
    KeysRequested,
    KinguinWebhook,
    OrderStatusChanged,
    RefundStatus,
    ReservationCreated,
    ReservationFailed,
    SealedKeys,
)
from bitloot_fulfillment.domain.saga import ManualDeliveryRefused, RetryRefused
from bitloot_fulfillment.domain.stats import Hour
from bitloot_fulfillment.handlers import saga
from bitloot_fulfillment.handlers.manual_delivery import DeliverByHand
from bitloot_fulfillment.handlers.retry import RetryOrder, SagaNotFound
from bitloot_fulfillment.handlers.stats import ReadStats
from bitloot_fulfillment.handlers.timers import FireDueTimers

SEALED = SealedKeys(suite="s", recipient_key_id="d1", enc="ZW5j", ciphertext="Y2lwaGVy")


async def paid(work: FakeFulfillmentWork) -> UUID:
    payment = payment_finished()
    await saga.StartSaga(POLICY)(payment, work)
    await work.commit()
    return payment.order_id


def topics(work: FakeFulfillmentWork) -> list[str]:
    return [event.topic for event in work.events if event.topic != "order.status_changed"]


async def test_a_payment_starts_one_saga_that_asks_for_a_reservation() -> None:
    work = FakeFulfillmentWork()
    payment = payment_finished()
    await saga.StartSaga(POLICY)(payment, work)
    assert work.events == []  # published only with the commit
    await work.commit()
    await saga.StartSaga(POLICY)(payment, work)
    await work.commit()
    assert work.sagas.rows[payment.order_id].state == "reserving"
    assert topics(work) == ["reservation.requested"]
    assert {kind for _, kind in work.sagas.timers} == {"poll", "deadline"}


async def test_the_happy_path_through_the_handlers_fulfils_the_order_and_drops_timers() -> None:
    work = FakeFulfillmentWork()
    order_id = await paid(work)
    k1 = {"order_id": order_id, "kinguin_order_id": "K-1"}
    await saga.reservation_created(ReservationCreated(**k1, status="processing"), work)
    await saga.kinguin_status_changed(KinguinWebhook(**k1, status="completed", updated_at=T0), work)
    delivered = KeysDelivered(**k1, customer_email="a@example.com", key_count=2, sealed=SEALED)
    await saga.keys_delivered(delivered, work)
    completed = DeliveryCompleted(order_id=order_id, key_count=2, email_sent=True)
    await saga.delivery_completed(completed, work)
    await work.commit()
    assert work.sagas.rows[order_id].state == "fulfilled"
    assert [to for _, to, _ in work.sagas.timeline[order_id]][-1] == "fulfilled"
    assert topics(work) == ["reservation.requested", "keys.requested", "order.fulfilled"]
    assert work.sagas.timers == {}


async def test_an_event_before_the_payment_waits_but_a_refund_report_is_skipped() -> None:
    work = FakeFulfillmentWork()
    order_id = uuid4()
    with pytest.raises(saga.SagaNotStarted):
        await saga.reservation_failed(
            ReservationFailed(order_id=order_id, code="x", reason="y"), work
        )
    await saga.refund_status_changed(refund_report(order_id, "sent", T0), work)
    assert work.sagas.rows == {}


async def test_a_retry_of_an_order_in_progress_is_refused_and_changes_nothing() -> None:
    work = FakeFulfillmentWork()
    order_id = await paid(work)
    before = (work.sagas.rows[order_id], len(work.events), dict(work.sagas.timers))
    with pytest.raises(RetryRefused) as refused:
        await RetryOrder(lambda: work, POLICY)(order_id)
    assert refused.value.code == "not_stuck"
    assert (work.sagas.rows[order_id], len(work.events), dict(work.sagas.timers)) == before
    with pytest.raises(SagaNotFound):
        await RetryOrder(lambda: work, POLICY)(uuid4())


async def test_a_retry_of_an_order_idle_past_the_deadline_asks_again() -> None:
    work = FakeFulfillmentWork()
    order_id = await paid(work)
    work.sagas.now += POLICY.max_age + timedelta(seconds=1)
    retried = await RetryOrder(lambda: work, POLICY)(order_id)
    assert (retried.previous_state, retried.state) == ("reserving", "reserving")
    assert retried.summary.startswith("Requested — still reserving")
    assert topics(work) == ["reservation.requested", "reservation.requested"]


async def test_a_hand_delivery_is_refused_while_the_deadline_is_ahead() -> None:
    work = FakeFulfillmentWork()
    order_id = await paid(work)
    deliver = DeliverByHand(lambda: work)
    with pytest.raises(ManualDeliveryRefused) as refused:
        await deliver(order_id, "admin:ann", 2, SEALED)
    assert refused.value.code == "not_failed_or_stuck"
    assert work.sagas.rows[order_id].state == "reserving"
    work.sagas.now += POLICY.max_age
    assert await deliver(order_id, "admin:ann", 2, SEALED) == "delivering"
    assert topics(work)[-1] == "keys.delivered"


async def test_due_timers_fire_once_and_a_locked_saga_waits_for_the_next_sweep() -> None:
    work = FakeFulfillmentWork()
    busy, free = await paid(work), await paid(work)
    fire = FireDueTimers(POLICY, limit=10)
    assert await fire(work) == 0
    work.sagas.now += POLICY.first_poll
    work.sagas.locked.add(busy)
    assert await fire(work) == 1
    await work.commit()
    assert [(e.topic, e.order_id) for e in work.events[-1:]] == [("reservation.poll", free)]
    assert work.sagas.timers[free, "poll"].attempt == 2
    assert work.sagas.timers[busy, "poll"].attempt == 1
    work.sagas.now += POLICY.max_age
    work.sagas.locked.clear()
    assert await fire(work) == 4  # both polls and both deadlines
    assert {saga.state for saga in work.sagas.rows.values()} == {"failed"}


async def test_the_stats_split_the_whole_window_from_its_hours() -> None:
    work = FakeFulfillmentWork()
    read = ReadStats(lambda: work, timedelta(minutes=30))
    empty = await read(datetime(2026, 1, 1, tzinfo=UTC))
    assert (empty.hours, empty.window) == ([], Hour(None, 0, 0, None, None))
    hour = Hour(T0, 1, 0, 2.0, 2.0)
    work.figures.hours = [hour, Hour(None, 1, 0, 2.0, 2.0)]
    found = await read(T0)
    assert (found.hours, found.window.fulfilled) == ([hour], 1)
    assert work.figures.deadlines == [timedelta(minutes=30)] * 2


async def test_a_fulfilled_order_announces_three_status_changes_and_keeps_six_in_its_timeline() -> (
    None
):
    """`order.status_changed` goes out only when the customer status changes or the order
    ends (paid, reserving, fulfilled); reserved, keys_requested and delivering, which
    nobody acts on, are stored for the timeline only. Each event's previous status is
    the saga's true previous state."""
    work = FakeFulfillmentWork()
    order_id = await paid(work)
    created = ReservationCreated(order_id=order_id, kinguin_order_id="K-3", status="completed")
    await saga.reservation_created(created, work)
    completed = DeliveryCompleted(order_id=order_id, key_count=1, email_sent=True)
    await saga.delivery_completed(completed, work)
    await work.commit()
    changes = [e for e in work.events if isinstance(e, OrderStatusChanged)]
    announced = [(e.previous_status, e.status) for e in changes]
    assert announced == [(None, "paid"), ("paid", "reserving"), ("delivering", "fulfilled")]
    assert len(work.sagas.timeline[order_id]) == 6


async def test_kinguin_completing_before_the_reservation_is_confirmed_is_remembered() -> None:
    """The webhook changes no state while the saga is `reserving`, but its fact must be
    stored, so that `reservation.created` arriving afterwards requests the keys."""
    work = FakeFulfillmentWork()
    order_id = await paid(work)
    k7 = {"order_id": order_id, "kinguin_order_id": "K-7"}
    await saga.kinguin_status_changed(KinguinWebhook(**k7, status="completed", updated_at=T0), work)
    await work.commit()
    assert work.sagas.rows[order_id].kinguin_status == "completed"
    await saga.reservation_created(ReservationCreated(**k7, status="processing"), work)
    await work.commit()
    [keys] = [e for e in work.events if isinstance(e, KeysRequested)]
    assert keys.kinguin_order_id == "K-7"


@pytest.mark.parametrize(
    ("status", "revived"),
    [("due", True), ("claimed", True), ("approved", False), ("sent", False)],
)
async def test_a_late_completion_of_a_failed_order_asks_for_keys_only_while_the_refund_is_due(
    status: RefundStatus, revived: bool
) -> None:
    """Kinguin completes a failed order whose refund payments reported `due`, then
    `status`: its keys are requested after all, never once the refund is approved."""
    work = FakeFulfillmentWork()
    order_id = await paid(work)
    failed = ReservationFailed(order_id=order_id, code="out_of_stock", reason="0")
    await saga.reservation_failed(failed, work)
    for minute, reported in enumerate(("due", status)):
        report = refund_report(order_id, reported, T0 + timedelta(minutes=minute))
        await saga.refund_status_changed(report, work)
    await work.commit()
    before = len(work.events)
    late = KinguinWebhook(
        order_id=order_id, kinguin_order_id="K-2", status="completed", updated_at=T0
    )
    await saga.kinguin_status_changed(late, work)
    await work.commit()
    after = work.sagas.rows[order_id]
    if revived:
        [keys] = [e for e in work.events[before:] if isinstance(e, KeysRequested)]
        assert (keys.order_id, after.state) == (order_id, "keys_requested")
        return
    assert work.events[before:] == []  # no keys.requested, no order.status_changed
    assert (after.state, after.kinguin_status) == ("failed", "completed")
    assert (after.failure_reason or "").startswith(
        "Kinguin completed the order after the refund was"
    )
