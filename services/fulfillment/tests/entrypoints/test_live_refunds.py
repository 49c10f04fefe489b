"""The live status of an order whose refund moves or whose key email is unconfirmed: a
real WebSocket client, the real bus and database. The customer status follows the
refund (failed → refund due → refund claimed → refunded) and tells keys_ready while the
key email is unconfirmed; duplicates and overtaken refund reports change nothing."""

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from fulfillment_live import KEYS, next_status, order_token, watch
from fulfillment_support import (
    Instances,
    completed,
    failed_order,
    keys_requested,
    publish,
    refund_report,
    refund_stored,
    saga_row,
    serving,
)
from sqlalchemy import select

from bitloot_contracts.events import (
    RefundStatus,
    RefundStatusChanged,
)
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.tables import inbox
from bitloot_testing.bus import eventually

T0 = datetime.now(UTC)


def refund(order_id: UUID, status: RefundStatus, minute: int, **extra: Any) -> RefundStatusChanged:
    """Payments' report that the order's refund is `status`, made `minute`s after T0."""
    return refund_report(order_id, status, T0 + timedelta(minutes=minute), **extra)


async def consumed(runtime: ServiceRuntime, *events: RefundStatusChanged) -> None:
    """Wait until fulfillment's refund handler has processed every one of `events`."""
    wanted = {str(event.event_id) for event in events}

    async def done() -> bool:
        async with runtime.engine.connect() as connection:
            query = select(inbox.c.message_id).where(inbox.c.message_id.in_(wanted))
            return set((await connection.scalars(query)).all()) == wanted

    assert await eventually(done, timeout=20), "the refund reports were never consumed"


async def test_a_failed_order_shows_refund_due_then_claimed_live_and_after_reconnecting(
    instances: Instances,
) -> None:
    runtime, app = await instances.start(**KEYS)
    order_id = await failed_order(runtime)
    async with serving(app) as base:
        async with watch(base, order_id, order_token(order_id)) as socket:
            first = await next_status(socket)
            assert (first["status"], first["customer_status"]) == ("failed", "failed")
            assert first["refund"] is None
            await publish(runtime, refund(order_id, "due", 1))
            due = await next_status(socket)
            await publish(runtime, refund(order_id, "claimed", 2))
            claimed = await next_status(socket)
        assert [due["customer_status"], claimed["customer_status"]] == [
            "refund_due",
            "refund_claimed",
        ]
        # The saga's status is unchanged; the refund says what the customer may see.
        assert (claimed["type"], claimed["status"], claimed["previous_status"]) == (
            "status",
            "failed",
            "failed",
        )
        assert claimed["refund"] == {
            "status": "claimed",
            "amount": "12.5",
            "currency": "usdttrc20",
            "transaction_id": None,
        }
        await refund_stored(runtime, order_id, "claimed")
        async with watch(base, order_id, order_token(order_id)) as socket:
            again = await next_status(socket)
    assert (again["status"], again["customer_status"]) == ("failed", "refund_claimed")
    assert again["refund"] == claimed["refund"]


async def test_duplicate_and_overtaken_refund_reports_push_nothing_and_store_nothing(
    instances: Instances,
) -> None:
    runtime, app = await instances.start(**KEYS)
    order_id = await failed_order(runtime)
    claimed = refund(order_id, "claimed", 2)
    async with serving(app) as base, watch(base, order_id, order_token(order_id)) as socket:
        assert (await next_status(socket))["customer_status"] == "failed"
        await publish(runtime, claimed)
        assert (await next_status(socket))["customer_status"] == "refund_claimed"
        overtaken = refund(order_id, "due", 1)  # older, overtaken on the bus
        replay = claimed.model_copy(update={"event_id": uuid4()})
        await publish(runtime, claimed)  # the same message again
        await publish(runtime, replay)
        await publish(runtime, overtaken)
        await consumed(runtime, overtaken, replay)
        await refund_stored(runtime, order_id, "claimed")
        await publish(runtime, refund(order_id, "sent", 3, transaction_id="0xfeed"))
        sent = await next_status(socket)  # nothing came in between
    assert (sent["customer_status"], sent["refund"]["transaction_id"]) == ("refunded", "0xfeed")
    await refund_stored(runtime, order_id, "sent")
    row = await saga_row(runtime, order_id)
    assert row is not None
    assert (row["refund_id"], row["refund_at"]) == (41, T0 + timedelta(minutes=3))
    assert await runtime.dead_letters.list() == []


async def test_an_unconfirmed_key_email_shows_keys_ready_until_it_is_confirmed(
    instances: Instances,
) -> None:
    runtime, app = await instances.start(**KEYS)
    order_id = uuid4()
    await keys_requested(runtime, order_id, "K-5")
    async with serving(app) as base:
        async with watch(base, order_id, order_token(order_id)) as socket:
            assert (await next_status(socket))["status"] == "keys_requested"
            await publish(runtime, completed(order_id, email_sent=False))
            # Delivering is not announced (the customer status stays "delivering").
            done = await next_status(socket)
            shown = (done["status"], done["customer_status"], done["email_confirmed"])
            assert shown == ("fulfilled", "keys_ready", False)
            # An admin's resend was confirmed: the same state, now delivered.
            await publish(runtime, completed(order_id))
            confirmed = await next_status(socket)
        assert (confirmed["status"], confirmed["customer_status"]) == ("fulfilled", "delivered")

        async def stored() -> bool:
            row = await saga_row(runtime, order_id)
            return row is not None and row["email_sent"] is True

        assert await eventually(stored, timeout=20)
        async with watch(base, order_id, order_token(order_id)) as socket:
            assert (await next_status(socket))["customer_status"] == "delivered"
