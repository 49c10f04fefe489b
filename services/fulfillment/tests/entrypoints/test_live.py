"""WS /ws/orders/{id} with a real WebSocket client against a real server: tokens, the
current status on connect, each change, heartbeats, and changes crossing instances."""

import json
from datetime import date
from typing import Any
from uuid import uuid4

import aio_pika
import httpx
import pytest
from aiormq.exceptions import ChannelLockedResource, ChannelNotFoundEntity
from faststream.rabbit.testing import TestRabbitBroker
from fulfillment_live import (
    ADMIN_PUBLIC,
    KEYS,
    ORDER_PUBLIC,
    admin_token,
    next_status,
    order_token,
    statuses,
    watch,
)
from fulfillment_support import (
    INTERNAL_TOKEN,
    Instances,
    completed,
    payment,
    publish,
    reserved,
    saga_in_state,
    serving,
)
from websockets.exceptions import ConnectionClosed

from bitloot_contracts.events import (
    OrderDelayed,
    ReservationCreated,
    ReservationFailed,
)
from bitloot_fulfillment.bootstrap import build
from bitloot_fulfillment.entrypoints.edge import Viewers
from bitloot_runtime.publisher import create_broker
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.tokens import (
    AdminTokenVerifier,
    InvalidToken,
    OrderTokenVerifier,
    parse_public_keys,
)
from bitloot_testing.bus import eventually


async def test_the_socket_gets_the_current_status_then_every_customer_status_to_fulfilled(
    instances: Instances,
) -> None:
    runtime, app = await instances.start(**KEYS)
    order_id = uuid4()
    async with serving(app) as base, watch(base, order_id, order_token(order_id)) as socket:
        first = await next_status(socket)
        # Not paid yet: no saga state, and the customer's words say so.
        assert (first["status"], first["customer_status"]) == (None, "awaiting_payment")
        await publish(runtime, payment(order_id))
        await publish(runtime, reserved(order_id, "K-3", "completed"))
        # Each change of the customer status: reserved, keys_requested and delivering
        # still say "delivering", so the saga does not announce them.
        paid, reserving = await next_status(socket), await next_status(socket)
        assert (paid["status"], paid["customer_status"]) == ("paid", "payment_received")
        assert (reserving["status"], reserving["customer_status"]) == ("reserving", "delivering")
        await saga_in_state(runtime, order_id, "keys_requested")
        await publish(runtime, completed(order_id))
        fulfilled = await next_status(socket)
        assert (fulfilled["status"], fulfilled["customer_status"]) == ("fulfilled", "delivered")
        assert fulfilled["previous_status"] == "delivering"  # the saga's, not the socket's


async def _live_queue_declared(runtime: ServiceRuntime, name: str) -> bool:
    """Whether the instance's live queue exists (exclusive to the instance's connection,
    so another connection is refused access to it rather than told it is missing)."""
    connection = await aio_pika.connect(runtime.settings.amqp_url)
    try:
        channel = await connection.channel()
        await channel.declare_queue(name, passive=True)
    except ChannelLockedResource:
        return True
    except ChannelNotFoundEntity:
        return False
    finally:
        await connection.close()
    raise AssertionError(f"{name} is not exclusive to the instance")


async def test_the_live_queue_is_bound_only_while_a_socket_is_open(instances: Instances) -> None:
    """An instance nobody watches consumes none of the live topics: its queue is declared
    for the first socket and deleted after the last one closes."""
    runtime, app = await instances.start(**KEYS)
    name = app.state.live_hub.feed.name
    order_id, other = uuid4(), uuid4()
    assert not await _live_queue_declared(runtime, name)
    async with serving(app) as base:
        async with watch(base, order_id, order_token(order_id)) as first:
            assert await statuses(first, 1) == [None]
            assert await _live_queue_declared(runtime, name)
            async with watch(base, other, order_token(other)) as second:
                assert await statuses(second, 1) == [None]
            # One socket still open: the queue stays, and its changes still come.
            await publish(runtime, payment(order_id))
            assert await statuses(first, 2) == ["paid", "reserving"]
            assert await _live_queue_declared(runtime, name)

        async def deleted() -> bool:
            return not await _live_queue_declared(runtime, name)

        assert await eventually(deleted, timeout=10)
        # A socket opened after that binds it again and hears the changes.
        async with watch(base, order_id, order_token(order_id)) as again:
            assert await statuses(again, 1) == ["reserving"]
            await publish(runtime, ReservationFailed(order_id=order_id, code="gone", reason="0"))
            assert await statuses(again, 1) == ["failed"]


async def test_a_change_made_by_one_instance_reaches_a_socket_held_by_another(
    instances: Instances,
) -> None:
    one, one_app = await instances.start(**KEYS)
    _, two_app = await instances.start(**KEYS)
    order_id = uuid4()
    await publish(one, payment(order_id))
    await publish(one, ReservationFailed(order_id=order_id, code="kinguin_down", reason="503"))
    await saga_in_state(one, order_id, "failed")
    async with serving(two_app) as base, watch(base, order_id, order_token(order_id)) as socket:
        assert await statuses(socket, 1) == ["failed"]
        # The retry runs on instance one only; instance two holds the socket.
        transport = httpx.ASGITransport(app=one_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://one") as http:
            answer = await http.post(
                f"/internal/orders/{order_id}/retry",
                headers={"Authorization": f"Bearer {INTERNAL_TOKEN}"},
            )
        assert answer.status_code == 200
        first = await next_status(socket)
        assert (first["status"], first["previous_status"]) == ("paid", "failed")
        assert first["customer_status"] == "payment_received"
        assert first["reason"] == "admin retry after reservation failure"
        assert await statuses(socket, 1) == ["reserving"]


async def test_an_admin_token_opens_any_order_through_the_bearer_header(
    instances: Instances,
) -> None:
    runtime, app = await instances.start(**KEYS)
    order_id = uuid4()
    await publish(runtime, payment(order_id))
    await saga_in_state(runtime, order_id, "reserving")
    bearer = {"Authorization": f"Bearer {admin_token()}"}
    async with serving(app) as base, watch(base, order_id, **bearer) as socket:
        assert await statuses(socket, 1) == ["reserving"]


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (lambda order_id: None, 4401),
        (lambda order_id: "not-a-jwt", 4401),
        (lambda order_id: order_token(uuid4()), 4403),
    ],
    ids=["no token", "garbage", "another order's token"],
)
async def test_a_socket_without_a_token_for_the_order_is_closed_with_a_reason(
    instances: Instances, token: Any, code: int
) -> None:
    _, app = await instances.start(**KEYS)
    order_id = uuid4()
    async with serving(app) as base, watch(base, order_id, token(order_id)) as socket:
        with pytest.raises(ConnectionClosed) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == code


async def test_a_quiet_socket_gets_heartbeats(instances: Instances) -> None:
    _, app = await instances.start(**KEYS, ws_heartbeat_seconds=0.2)
    order_id = uuid4()
    async with serving(app) as base, watch(base, order_id, order_token(order_id)) as socket:
        first = json.loads(await socket.recv())
        second = json.loads(await socket.recv())
    assert (first["type"], second["type"]) == ("status", "heartbeat")


def test_without_admin_keys_an_admin_token_opens_nothing() -> None:
    order_id = uuid4()
    orders_only = Viewers(OrderTokenVerifier(parse_public_keys(f"o1:{ORDER_PUBLIC}")), None)
    both = Viewers(orders_only.orders, AdminTokenVerifier(parse_public_keys(f"a1:{ADMIN_PUBLIC}")))
    with pytest.raises(InvalidToken):
        orders_only.check(admin_token(), order_id)
    assert both.check(admin_token(), order_id) == "admin:alice"
    assert orders_only.check(order_token(order_id), order_id) == "customer"


async def test_in_memory_broker_mode_pushes_changes_to_sockets_in_process(
    instances: Instances,
) -> None:
    """The one-process demo has no RabbitMQ: the live subscription rides the in-memory
    broker like every other subscriber."""
    broker = create_broker("amqp://in-memory/", prefetch=16)
    runtime, app = build(instances.settings(**KEYS), in_memory_broker=broker)
    order_id = uuid4()
    async with TestRabbitBroker(broker):
        await runtime.start()
        try:
            async with serving(app) as base, watch(base, order_id, order_token(order_id)) as ws:
                assert await statuses(ws, 1) == [None]
                await publish(runtime, payment(order_id))
                assert await statuses(ws, 2) == ["paid", "reserving"]
        finally:
            await runtime.stop()


async def test_a_preorder_and_a_late_order_say_why_their_keys_take_long(
    instances: Instances,
) -> None:
    """A `delivering` order's frames say why it takes long: a preorder as soon as Kinguin
    says it is one (stored, so on connect too), a late order once the customer is told."""
    runtime, app = await instances.start(**KEYS)
    preorder, late = uuid4(), uuid4()
    await publish(runtime, payment(preorder))
    created = ReservationCreated(
        order_id=preorder,
        kinguin_order_id="K-PRE",
        status="processing",
        is_preorder=True,
        preorder_release_date=date(2027, 3, 1),
    )
    await publish(runtime, created)
    await saga_in_state(runtime, preorder, "reserved")
    async with serving(app) as base:
        async with watch(base, preorder, order_token(preorder)) as socket:
            first = await next_status(socket)
            assert first["customer_status"] == "delivering"
            assert first["delay"] == {"is_preorder": True, "release_date": "2027-03-01"}
        async with watch(base, late, order_token(late)) as socket:
            assert (await next_status(socket))["delay"] is None
            await publish(runtime, payment(late))
            assert (await next_status(socket))["delay"] is None
            told = OrderDelayed(order_id=late, customer_email="a@b.test", is_preorder=False)
            await publish(runtime, told)
            while (frame := await next_status(socket))["delay"] is None:
                pass
            assert frame["delay"] == {"is_preorder": False, "release_date": None}
            assert frame["reason"] == "delayed"
            assert "a@b.test" not in json.dumps(frame)
