"""Invariant 2 (inbox), retries through delay queues, and parking, on real RabbitMQ."""

import asyncio
import json
import logging
from uuid import uuid4

import aio_pika
import pytest
from prometheus_client import Counter
from runtime_support import (
    SERVICE,
    WIDGET_MADE,
    Recorder,
    WidgetMade,
    on_bus,
    publish_raw,
    queue_depth,
    running_service,
    settings_for,
    track,
    widget_event,
    widget_names,
    widget_runtime,
)

from bitloot_runtime.service import ServiceRuntime
from bitloot_testing.bus import eventually
from bitloot_testing.rabbitmq import BusNamespace


async def publish_event(runtime: ServiceRuntime, body: bytes, message_id: str) -> None:
    await runtime.publisher.publish_event(
        topic=WIDGET_MADE, body=body, message_id=message_id, order_id=None, headers={}
    )


async def publish_widget(runtime: ServiceRuntime, event: WidgetMade) -> None:
    await publish_event(runtime, event.model_dump_json().encode(), str(event.event_id))


async def test_same_message_delivered_twice_has_one_effect(
    database_url: str, bus_prefix: BusNamespace
) -> None:
    handler = Recorder()
    async with on_bus(database_url, bus_prefix, handler) as runtime:
        event = widget_event("once")
        for _ in range(3):
            await publish_widget(runtime, event)
        counted = runtime.metrics.consumed.labels(
            queue=runtime.topology.queue_name(SERVICE, WIDGET_MADE), outcome="duplicate"
        )
        assert await eventually(lambda: _at_least(counted, 2))
        assert await widget_names(runtime.engine) == ["handled:once"]


async def _at_least(counter: Counter, value: int) -> bool:
    return float(counter._value.get()) >= value


async def test_same_message_to_two_instances_at_once_has_one_effect(
    database_url: str, bus_prefix: BusNamespace
) -> None:
    # One message in flight per instance, each held in its handler long enough that the
    # second copy is claimed while the first is still uncommitted.
    first, second = Recorder(pause=0.5), Recorder(pause=0.5)
    settings = settings_for(database_url, bus_prefix.amqp_url, bus_prefix.prefix, prefetch=1)
    async with running_service(settings, first) as one, running_service(settings, second) as two:
        track(bus_prefix, one)
        event = widget_event("raced")
        body, message_id = event.model_dump_json().encode(), str(event.event_id)
        await asyncio.gather(*(publish_event(one, body, message_id) for _ in range(2)))
        queue = one.topology.queue_name(SERVICE, WIDGET_MADE)
        outcomes = [
            runtime.metrics.consumed.labels(queue=queue, outcome=outcome)
            for runtime in (one, two)
            for outcome in ("ok", "duplicate")
        ]
        assert await eventually(lambda: _total(outcomes, 2))
        await asyncio.sleep(1.0)
        per_instance = [o._value.get() for o in outcomes]
        assert await widget_names(one.engine) == ["handled:raced"]
    # Each instance took one copy; exactly one ran the handler, the other saw a duplicate.
    assert sorted(per_instance) == [0, 0, 1, 1]
    assert per_instance[0] + per_instance[1] == 1
    assert per_instance[2] + per_instance[3] == 1
    assert len(first.calls) + len(second.calls) == 1


async def _total(counters: list[Counter], value: int) -> bool:
    return sum(float(c._value.get()) for c in counters) >= value


@pytest.mark.slow
async def test_transient_failure_is_retried_after_each_configured_delay_then_succeeds(
    database_url: str, bus_prefix: BusNamespace
) -> None:
    handler = Recorder(fail_times=2)
    async with on_bus(database_url, bus_prefix, handler, retry_delays=(0.4, 1.2)) as runtime:
        event = widget_event("flaky")
        await publish_widget(runtime, event)
        assert await eventually(lambda: _names_are(runtime, ["handled:flaky"]), timeout=15)
    gaps = [
        later - earlier for earlier, later in zip(handler.calls, handler.calls[1:], strict=False)
    ]
    print(f"measured retry gaps: {[round(g, 3) for g in gaps]} s for delays (0.4, 1.2)")
    assert len(handler.calls) == 3
    assert 0.4 <= gaps[0] < 1.2
    assert 1.2 <= gaps[1] < 2.4


async def _names_are(runtime: ServiceRuntime, names: list[str]) -> bool:
    return await widget_names(runtime.engine) == names


@pytest.mark.slow
async def test_always_failing_message_is_parked_after_its_attempts_and_replay_delivers_it(
    database_url: str, bus_prefix: BusNamespace
) -> None:
    handler = Recorder(fail_times=3)
    async with on_bus(database_url, bus_prefix, handler, retry_delays=(0.2, 0.2)) as runtime:
        event = widget_event("doomed")
        await publish_widget(runtime, event)
        assert await eventually(lambda: _parked(runtime, 1), timeout=15)
        [letter] = await runtime.dead_letters.list()
        assert letter.reason == "exhausted"
        assert letter.attempts == 3
        assert "ConnectionError: flaky dependency (call 3)" in letter.error
        assert letter.message_id == str(event.event_id)
        assert letter.topic == WIDGET_MADE
        assert letter.first_failed_at <= letter.last_failed_at
        assert len(handler.calls) == 3
        for name in [
            runtime.topology.queue_name(SERVICE, WIDGET_MADE),
            *(runtime.topology.delay_name(SERVICE, d) for d in (0.2,)),
        ]:
            assert await queue_depth(bus_prefix.amqp_url, name) == 0

        replayed = await runtime.dead_letters.replay(letter.id, runtime.publisher)
        assert replayed.replay_count == 1
        assert await eventually(lambda: _names_are(runtime, ["handled:doomed"]))
        assert await runtime.dead_letters.list() == []
        assert len(handler.calls) == 4


async def test_a_retry_the_broker_refuses_returns_the_message_to_its_queue_not_to_a_human(
    database_url: str, bus_prefix: BusNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A handler fails for a reason that passes (Kinguin busy) while the broker refuses the
    retry: the message is neither parked (an order behind it would wait for an admin) nor
    lost; it goes back to its queue and is handled on its next delivery."""
    monkeypatch.setattr("bitloot_runtime.consumer.REQUEUE_PAUSE", 0.2)
    handler = Recorder(fail_times=1)
    async with on_bus(database_url, bus_prefix, handler, retry_delays=(0.2,)) as runtime:
        # The delay queue no longer takes what its exchange gets: the retry's publish is
        # returned unroutable, a refusal by the broker itself.
        delay = runtime.topology.delay_name(SERVICE, 0.2)
        connection = await aio_pika.connect(bus_prefix.amqp_url)
        async with connection:
            channel = await connection.channel()
            queue = await channel.get_queue(delay)
            await queue.unbind(delay)
        event = widget_event("kept")
        await publish_widget(runtime, event)
        assert await eventually(lambda: _names_are(runtime, ["handled:kept"]), timeout=10)
        assert await runtime.dead_letters.list() == []
        requeued = runtime.metrics.consumed.labels(
            queue=runtime.topology.queue_name(SERVICE, WIDGET_MADE), outcome="requeued"
        )
        assert requeued._value.get() == 1
    assert len(handler.calls) == 2


async def _parked(runtime: ServiceRuntime, count: int) -> bool:
    return len(await runtime.dead_letters.list()) == count


async def test_permanent_error_is_parked_at_once_without_retry(
    database_url: str, bus_prefix: BusNamespace
) -> None:
    handler = Recorder(fail_times=1, permanent=True)
    async with on_bus(database_url, bus_prefix, handler) as runtime:
        event = widget_event("refused")
        await publish_widget(runtime, event)
        assert await eventually(lambda: _parked(runtime, 1))
        await asyncio.sleep(1.0)  # longer than the first retry delay: no retry may come
        [letter] = await runtime.dead_letters.list()
    assert letter.reason == "permanent"
    assert letter.attempts == 1
    assert letter.error.startswith("widget_rejected:")
    assert len(handler.calls) == 1


async def test_malformed_messages_are_parked_at_once_and_consuming_goes_on(
    database_url: str, bus_prefix: BusNamespace
) -> None:
    handler = Recorder()
    async with on_bus(database_url, bus_prefix, handler) as runtime:
        exchange = runtime.topology.exchange.name
        valid = widget_event("after")
        bad_schema = json.dumps({"order_id": str(uuid4()), "name": "x", "extra": 1}).encode()
        for body in (b"not json", b"\xff\xfe", bad_schema):
            await publish_raw(bus_prefix.amqp_url, exchange, WIDGET_MADE, body)
        await publish_raw(
            bus_prefix.amqp_url,
            exchange,
            WIDGET_MADE,
            valid.model_dump_json().encode(),
            message_id=str(valid.event_id),
        )
        assert await eventually(lambda: _names_are(runtime, ["handled:after"]))
        assert await eventually(lambda: _parked(runtime, 3))
        letters = await runtime.dead_letters.list()
        await asyncio.sleep(1.0)  # longer than the first retry delay: nothing is retried
        assert len(await runtime.dead_letters.list()) == 3
    assert {letter.reason for letter in letters} == {"invalid"}
    assert {letter.attempts for letter in letters} == {1}
    assert {letter.body for letter in letters} == {b"not json", b"\xff\xfe", bad_schema}
    assert len(handler.calls) == 1


async def test_retry_goes_back_only_to_the_queue_that_failed(
    database_url: str, bus_prefix: BusNamespace
) -> None:
    healthy, flaky = Recorder(), Recorder(fail_times=1)
    settings = settings_for(database_url, bus_prefix.amqp_url, bus_prefix.prefix)
    both = {"widgets": (WIDGET_MADE,), "auditor": (WIDGET_MADE,)}
    async with (
        running_service(settings, healthy, subscriptions=both) as runtime,
        running_service(settings, flaky, service="auditor", subscriptions=both),
    ):
        track(bus_prefix, runtime)
        for name in runtime.topology.names("auditor", settings.retry_delays, both):
            bus_prefix.track_queue(name)
            bus_prefix.track_exchange(name)
        event = widget_event("shared")
        await publish_widget(runtime, event)
        assert await eventually(lambda: _count(flaky, 2))
        await asyncio.sleep(0.5)
    assert len(healthy.calls) == 1
    assert len(flaky.calls) == 2


async def _count(recorder: Recorder, count: int) -> bool:
    return len(recorder.calls) >= count


async def test_stopping_lets_the_message_in_hand_commit_and_be_acked(
    database_url: str, bus_prefix: BusNamespace
) -> None:
    handler = Recorder(pause=1.0)
    async with on_bus(database_url, bus_prefix, handler) as runtime:
        await publish_widget(runtime, widget_event("in hand"))
        assert await eventually(lambda: _count(handler, 1))
        # leaving stops the runtime while the handler is still sleeping
    assert await widget_names(runtime.engine) == ["handled:in hand"]
    await runtime.engine.dispose()
    queue = runtime.topology.queue_name(SERVICE, WIDGET_MADE)
    assert await queue_depth(bus_prefix.amqp_url, queue) == 0
    assert len(handler.calls) == 1


async def test_a_loop_that_will_not_stop_does_not_hold_up_the_shutdown(
    database_url: str,
    bus_prefix: BusNamespace,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Each step of `stop` is bounded: a loop deaf to cancellation (or a broker that never
    confirms a cancel) is left behind, and the steps after it still run."""
    monkeypatch.setattr("bitloot_runtime.service.STOP_STEP_SECONDS", 0.5)
    release = asyncio.Event()

    async def deaf() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue

    settings = settings_for(database_url, bus_prefix.amqp_url, bus_prefix.prefix)
    runtime = widget_runtime(settings, Recorder())
    runtime.add_background("deaf", deaf)
    await runtime.start()
    track(bus_prefix, runtime)
    try:
        with caplog.at_level(logging.INFO, logger="bitloot_runtime.service"):
            await asyncio.wait_for(runtime.stop(), 10)
        left = [r for r in caplog.records if r.getMessage() == "a loop did not stop; leaving it"]
        assert [getattr(r, "loop", None) for r in left] == [f"{SERVICE}-deaf"]
        # The steps after the loop ran: the last one logs that the service stopped.
        assert caplog.records[-1].getMessage() == "service stopped"
    finally:
        release.set()
