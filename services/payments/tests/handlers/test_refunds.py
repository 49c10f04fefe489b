"""Refunds the bus makes due or cancels, through the real broker and database: a failed
paid order owes its money back once however often it is told, nothing is guessed, and a
failed order fulfilled after all never keeps both its keys and its refund unseen."""

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import httpx
from payments_support import execute, ipn, new_order, send, settled, watching
from refund_support import (
    PAID,
    PAID_IN,
    emitted,
    failed,
    flag_rows,
    fulfilment_state,
    made_due,
    order_status,
    paid_order,
    refund_of,
    refund_rows,
    saga,
    set_refund,
)
from sqlalchemy import update

from bitloot_contracts.events import DeliveryCompleted, KeysRevoked
from bitloot_payments.adapters.orm import payments
from bitloot_runtime.service import ServiceRuntime
from bitloot_testing.bus import eventually
from bitloot_testing.rabbitmq import BusNamespace

STATUS_CHANGED = "refund.status_changed"


async def quiet(runtime: ServiceRuntime) -> None:
    """Wait for the consumers to be done with what was published (no inbox growth)."""
    await asyncio.sleep(1.0)


async def test_a_failed_paid_order_owes_what_was_paid_once_even_when_told_twice(
    client: httpx.AsyncClient, runtime: ServiceRuntime, bus_prefix: BusNamespace
) -> None:
    order_id = await paid_order(client, runtime)
    event = failed(order_id)
    async with watching(runtime, bus_prefix) as spy:
        await runtime.publisher.publish(event)
        await runtime.publisher.publish(event)  # the same message, delivered again
        refund = await refund_of(runtime, order_id)
        seen = await spy.collect(3, timeout=10)
    await quiet(runtime)
    assert len(await refund_rows(runtime, order_id)) == 1
    assert (refund["status"], refund["reason"], refund["cause"]) == (
        "due",
        "order_failed",
        "reserving",
    )
    assert (refund["amount"], refund["currency"]) == (Decimal(PAID), PAID_IN)
    assert await order_status(runtime, order_id) == "refund_due"
    [due] = await emitted(runtime, order_id, STATUS_CHANGED)
    assert (due["status"], due["previous_status"]) == ("due", None)
    assert (due["refund_id"], due["amount"], due["currency"]) == (refund["id"], PAID, PAID_IN)
    assert due["customer_email"] == "buyer@example.com"
    published = [m for m in seen if m.routing_key == STATUS_CHANGED]
    assert len(published) == 1


async def test_another_failure_report_of_the_same_order_adds_nothing(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    order_id, _refund_id = await made_due(runtime, client)
    await runtime.publisher.publish(failed(order_id))  # a new event id: past the inbox
    await quiet(runtime)
    assert len(await refund_rows(runtime, order_id)) == 1
    assert len(await emitted(runtime, order_id, STATUS_CHANGED)) == 1


async def test_an_order_never_paid_owes_nothing(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    order_id = await new_order(client)
    await runtime.publisher.publish(failed(order_id))
    await runtime.publisher.publish(failed(str(UUID(int=7))))  # not even ours
    await quiet(runtime)
    assert await refund_rows(runtime, order_id) == []
    assert await order_status(runtime, order_id) == "invoiced"
    assert await emitted(runtime, order_id, STATUS_CHANGED) == []


async def test_an_unknown_paid_amount_is_flagged_for_an_admin_not_guessed(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    order_id = await paid_order(client, runtime)
    paid = update(payments).where(payments.c.order_id == UUID(order_id))
    await execute(runtime, paid.values(actually_paid=None))
    await runtime.publisher.publish(failed(order_id))

    async def flagged() -> bool:
        return bool(await flag_rows(runtime, order_id, "refund_amount_unknown"))

    assert await eventually(flagged, timeout=15)
    assert await refund_rows(runtime, order_id) == []
    assert await emitted(runtime, order_id, STATUS_CHANGED) == []


async def test_keys_revoked_unrevealed_make_the_order_refund_due(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    order_id = await paid_order(client, runtime)
    await runtime.publisher.publish(
        KeysRevoked(order_id=UUID(order_id), key_count=2, revoked_by="admin:ana", note="unused")
    )
    refund = await refund_of(runtime, order_id)
    assert (refund["reason"], refund["requested_by"], refund["note"]) == (
        "keys_unrevealed",
        "admin:ana",
        "unused",
    )
    [due] = await emitted(runtime, order_id, STATUS_CHANGED)
    assert due["reason"] == "keys_unrevealed"


async def test_a_failure_older_than_the_known_fulfilment_owes_nothing(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    order_id = await paid_order(client, runtime)
    now = datetime.now(UTC)
    await runtime.publisher.publish(saga(order_id, "fulfilled", now))

    async def fulfilled() -> bool:
        return await fulfilment_state(runtime, order_id) == "fulfilled"

    assert await eventually(fulfilled)
    await runtime.publisher.publish(failed(order_id, now - timedelta(minutes=5)))
    await quiet(runtime)
    assert await refund_rows(runtime, order_id) == []


async def test_a_refund_nothing_was_paid_for_is_canceled_when_the_order_is_fulfilled_after_all(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    for status in ("due", "claimed", "failed"):
        order_id, refund_id = await made_due(runtime, client)
        await set_refund(runtime, refund_id, status=status)
        await runtime.publisher.publish(saga(order_id, "fulfilled", datetime.now(UTC)))

        async def canceled(order_id: str = order_id) -> bool:
            return bool((await refund_rows(runtime, order_id))[0]["status"] == "canceled")

        assert await eventually(canceled, timeout=15), status
        assert await order_status(runtime, order_id) == "paid"
        changes = await emitted(runtime, order_id, STATUS_CHANGED)
        assert [(c["status"], c["previous_status"]) for c in changes] == [
            ("due", None),
            ("canceled", status),
        ]
        assert await flag_rows(runtime, order_id, "fulfilled_after_refund") == []


async def test_a_refund_money_moved_for_is_flagged_once_not_canceled_when_fulfilled_after_all(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    for status in ("approved", "sending", "sent", "refunded_outside"):
        order_id, refund_id = await made_due(runtime, client)
        await set_refund(runtime, refund_id, status=status)
        first = datetime.now(UTC)
        await runtime.publisher.publish(saga(order_id, "fulfilled", first))
        await runtime.publisher.publish(saga(order_id, "fulfilled", first + timedelta(seconds=1)))

        async def flagged(order_id: str = order_id) -> bool:
            return bool(await flag_rows(runtime, order_id, "fulfilled_after_refund"))

        assert await eventually(flagged, timeout=15), status
        await quiet(runtime)
        [flag] = await flag_rows(runtime, order_id, "fulfilled_after_refund")
        assert flag["data"] == {"refund_id": str(refund_id), "refund_status": status}
        assert (await refund_rows(runtime, order_id))[0]["status"] == status
        assert len(await emitted(runtime, order_id, STATUS_CHANGED)) == 1


async def test_an_unconfirmed_key_email_makes_a_fulfilled_order_keys_ready(
    client: httpx.AsyncClient, runtime: ServiceRuntime, admin: httpx.AsyncClient
) -> None:
    order_id = await paid_order(client, runtime)
    await runtime.publisher.publish(saga(order_id, "fulfilled", datetime.now(UTC)))
    told = f"/internal/orders/{order_id}"

    async def status_is(expected: str) -> bool:
        answer = await admin.get(told)
        return bool(answer.json()["customer_status"] == expected)

    assert await eventually(lambda: status_is("delivered"))
    unconfirmed = DeliveryCompleted(order_id=UUID(order_id), key_count=1, email_sent=False)
    await runtime.publisher.publish(unconfirmed)
    assert await eventually(lambda: status_is("keys_ready"))
    await runtime.publisher.publish(
        DeliveryCompleted(order_id=UUID(order_id), key_count=1, email_sent=True)
    )
    assert await eventually(lambda: status_is("delivered"))
    # A late report of the earlier, unconfirmed attempt does not take it back.
    await runtime.publisher.publish(unconfirmed.model_copy(update={"event_id": UUID(int=99)}))
    await quiet(runtime)
    assert await status_is("delivered")


async def test_a_surplus_already_owed_back_is_not_owed_again_when_the_order_fails(
    client: httpx.AsyncClient, runtime: ServiceRuntime, admin: httpx.AsyncClient
) -> None:
    order_id = await new_order(client)
    await send(client, ipn(order_id, "finished", actually_paid=30, payment_id=31337))
    await settled(runtime)
    [flag] = await flag_rows(runtime, order_id, "overpaid")
    decided = await admin.post(f"/internal/flags/{flag['id']}/refund-due")
    assert decided.status_code == 200, decided.text
    await runtime.publisher.publish(failed(order_id))

    async def two_refunds() -> bool:
        return len(await refund_rows(runtime, order_id)) == 2

    assert await eventually(two_refunds, timeout=15)
    owed = [(r["reason"], r["amount"]) for r in await refund_rows(runtime, order_id)]
    assert owed == [("overpaid", Decimal("4.9")), ("order_failed", Decimal("25.1"))]
