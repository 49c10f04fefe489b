"""Durable timers on a real database and bus: polls after a restart, once across
instances, and the deadline failing an order an admin can then see."""

from uuid import uuid4

from fulfillment_support import (
    Instances,
    body,
    make_due,
    payment,
    publish,
    published,
    reserved,
    saga_in_state,
    saga_row,
    spying,
    timers_of,
)

from bitloot_testing.bus import eventually
from bitloot_testing.rabbitmq import BusNamespace

HOUR = 3600.0


async def test_a_poll_that_came_due_while_no_instance_ran_is_sent_after_a_restart(
    instances: Instances, bus_prefix: BusNamespace
) -> None:
    first, _ = await instances.start(first_poll_seconds=HOUR)
    order_id = uuid4()
    await publish(first, payment(order_id))
    await saga_in_state(first, order_id, "reserving")
    assert await timers_of(first, order_id) == {"poll": 1, "deadline": 1}
    await instances.stop(first)
    # Nothing runs while the poll comes due.
    second, _ = await instances.start(first_poll_seconds=HOUR)
    async with spying(second, bus_prefix) as spy:
        await make_due(second, order_id, "poll")
        [poll] = await published(spy, "reservation.poll", 1)
    assert body(poll)["order_id"] == str(order_id)
    assert (body(poll)["attempt"], body(poll)["kinguin_order_id"]) == (1, None)
    assert await timers_of(second, order_id) == {"poll": 2, "deadline": 1}
    assert (await saga_row(second, order_id) or {})["polls_sent"] == 1


async def test_two_instances_fire_each_due_timer_once(
    instances: Instances, bus_prefix: BusNamespace
) -> None:
    one, _ = await instances.start(first_poll_seconds=HOUR)
    two, _ = await instances.start(first_poll_seconds=HOUR)
    orders = [uuid4() for _ in range(10)]
    for order_id in orders:
        await publish(one, payment(order_id))
        await publish(one, reserved(order_id, f"K-{order_id.hex[:8]}"))
    for order_id in orders:
        await saga_in_state(one, order_id, "reserved")
    async with spying(one, bus_prefix) as spy:
        for order_id in orders:
            await make_due(two, order_id, "poll")
        polls = await published(spy, "reservation.poll", len(orders))
    assert sorted(body(p)["order_id"] for p in polls) == sorted(str(o) for o in orders)
    assert {body(p)["kinguin_order_id"] for p in polls} == {f"K-{o.hex[:8]}" for o in orders}


async def test_the_deadline_fails_a_silent_order_with_stage_deadline_once(
    instances: Instances, bus_prefix: BusNamespace
) -> None:
    runtime, _ = await instances.start(first_poll_seconds=HOUR)
    order_id = uuid4()
    await publish(runtime, payment(order_id))
    await saga_in_state(runtime, order_id, "reserving")
    async with spying(runtime, bus_prefix) as spy:
        await make_due(runtime, order_id, "deadline")
        [failed] = await published(spy, "order.failed", 1)
    assert body(failed)["stage"] == "deadline"
    row = await saga_row(runtime, order_id) or {}
    assert (row["state"], row["failure_stage"]) == ("failed", "deadline")

    async def no_timers_left() -> bool:
        return await timers_of(runtime, order_id) == {}

    assert await eventually(no_timers_left)
