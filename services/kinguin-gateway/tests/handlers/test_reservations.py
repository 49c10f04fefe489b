"""reservation.requested on the real bus against the Kinguin sandbox: exactly one
purchase, never above the order's maximum price, refusals reported, a bad API key parked."""

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from uuid import UUID, uuid4

import httpx
import pytest
from aio_pika.abc import AbstractIncomingMessage
from kinguin_gateway_support import (
    API_KEY,
    COUNTER_STRIKE,
    Gateway,
    Kinguin,
    published,
    request,
    started_gateway,
)
from sqlalchemy import select, text

from bitloot_kinguin_gateway.adapters.kinguin import KinguinClient
from bitloot_kinguin_gateway.adapters.orm import reservations
from bitloot_kinguin_gateway.adapters.repository import ReservationRepository
from bitloot_kinguin_gateway.adapters.unit_of_work import GatewayUnitOfWork
from bitloot_kinguin_gateway.handlers.reservations import Reserve
from bitloot_runtime.errors import TransientError
from bitloot_testing.bus import eventually
from bitloot_testing.rabbitmq import BusNamespace


async def state_of(gateway: Gateway, order_id: UUID) -> str | None:
    async with gateway.runtime.engine.connect() as connection:
        query = select(reservations.c.state).where(reservations.c.order_id == order_id)
        return await connection.scalar(query)


def kinguin_orders(gateway: Gateway, outcome: str) -> float:
    labels = {"service": "kinguin-gateway", "outcome": outcome}
    found = gateway.runtime.metrics.registry.get_sample_value(
        "bitloot_kinguin_orders_total", labels
    )
    return found or 0.0


async def test_a_request_delivered_twice_buys_once_and_reports_once(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    order_id = uuid4()
    event = request(order_id)
    async with gateway.spy() as spy:
        await gateway.publish(event)
        await gateway.publish(event)
        [created] = await published(spy, "reservation.created", 1)
    [order] = kinguin.orders
    assert order.order_external_id == str(order_id)
    assert json.loads(created.body)["kinguin_order_id"] == order.order_id
    assert kinguin.calls("POST /v2/order") == 1
    assert await state_of(gateway, order_id) == "placed"
    assert kinguin_orders(gateway, "placed") == 1


async def test_a_retry_after_a_crash_finds_the_order_placed_before_the_crash(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    order_id = uuid4()
    # The first attempt committed `placing`, bought, and died before recording it, long
    # enough ago that its purchase cannot still be under way (its stamp is old).
    async with gateway.runtime.unit_of_work() as uow:
        await ReservationRepository(uow.session).open(order_id, [{"qty": 2}])
        await uow.session.execute(
            text("UPDATE kinguin_orders SET sent_at = now() - interval '1 hour'")
        )
        await uow.commit()
    bought = kinguin.place(order_id, [(COUNTER_STRIKE, 2)])
    async with gateway.spy() as spy:
        await gateway.publish(request(order_id))
        [created] = await published(spy, "reservation.created", 1)
    assert json.loads(created.body)["kinguin_order_id"] == bought.order_id
    assert len(kinguin.orders) == 1
    assert kinguin.calls("POST /v2/order") == 0


async def test_only_the_request_that_creates_the_reservation_skips_the_lookup(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    """No call can have used the external id of a reservation the request created itself
    (it is committed before any call); a reservation found there already is never taken
    for a new one (the crash tests above show the lookup it then gets)."""
    order_id = uuid4()
    seen: list[AbstractIncomingMessage] = []
    async with gateway.spy() as spy:
        await gateway.publish(request(order_id))
        await published(spy, "reservation.created", 1, seen)
        assert kinguin.calls("GET /v1/order") == 0
        # A new request for the order (an admin retry): announced again, never bought twice.
        async with gateway.runtime.unit_of_work() as uow:
            opened = await ReservationRepository(uow.session).open(order_id, [{"qty": 2}])
        assert opened[1] is None  # not created: no stamp of its own
        await gateway.publish(request(order_id))
        await published(spy, "reservation.created", 2, seen)
    assert kinguin.calls("POST /v2/order") == 1
    assert len(kinguin.orders) == 1


async def test_kinguin_refusing_the_order_fails_the_reservation_with_its_reason(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    order_id = uuid4()
    kinguin.sandbox.faults.update({"out_of_stock": [COUNTER_STRIKE]})
    async with gateway.spy() as spy:
        await gateway.publish(request(order_id))
        [failed] = await published(spy, "reservation.failed", 1)
    assert json.loads(failed.body)["code"] == "product_unavailable"
    assert kinguin.orders == []
    assert await state_of(gateway, order_id) == "failed"
    assert (kinguin_orders(gateway, "refused"), kinguin_orders(gateway, "placed")) == (1, 0)


async def test_a_429_storm_is_ridden_out_and_the_order_bought_once(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    order_id = uuid4()
    # More refusals than one delivery's attempts: the bus's retry delays carry it on.
    kinguin.sandbox.faults.update({"rate_limit_next": 5})
    async with gateway.spy() as spy:
        await gateway.publish(request(order_id))
        [created] = await published(spy, "reservation.created", 1)
        assert await published(spy, "reservation.failed", 0) == []
    assert kinguin.sandbox.faults.rate_limit_next == 0
    assert [order.order_id for order in kinguin.orders] == [
        json.loads(created.body)["kinguin_order_id"]
    ]
    assert await gateway.runtime.dead_letters.list() == []


async def test_a_rejected_api_key_parks_the_request_with_a_clear_reason_and_fails_nothing(
    kinguin: Kinguin, database_url: str, bus_prefix: BusNamespace
) -> None:
    order_id = uuid4()
    async with started_gateway(
        database_url, bus_prefix, kinguin.url, kinguin_api_key="revoked-api-key"
    ) as gateway:

        async def parked() -> bool:
            return len(await gateway.runtime.dead_letters.list()) == 1

        async with gateway.spy() as spy:
            await gateway.publish(request(order_id))
            assert await eventually(parked)
            assert await published(spy, "reservation.failed", 0) == []
        [letter] = await gateway.runtime.dead_letters.list()
        assert letter.reason == "permanent"
        assert letter.error.startswith("kinguin_access_denied: ")
        assert "KINGUIN_GATEWAY_KINGUIN_API_KEY" in letter.error
        assert letter.attempts == 1
        assert await state_of(gateway, order_id) == "placing"
    assert kinguin.orders == []


class SlowSlot:
    """A rate-limit slot that is long in coming once: `meanwhile` runs during that wait."""

    def __init__(self, meanwhile: Callable[[], Awaitable[None]]) -> None:
        self._meanwhile: Callable[[], Awaitable[None]] | None = meanwhile

    async def acquire(self) -> float:
        meanwhile, self._meanwhile = self._meanwhile, None
        if meanwhile is not None:
            await meanwhile()
        return 0.0

    async def throttled(self, delay: float) -> None:
        pass


async def test_a_handler_whose_session_died_while_it_waited_for_a_slot_buys_nothing(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    """The double purchase chaos found: a PostgreSQL restart drops a handler's session
    (and the order's lock with it) while it waits for a rate-limit slot; the redelivered
    request is handled to the end by another gateway meanwhile. The first must not buy."""
    order_id = uuid4()
    event = request(order_id)
    units = gateway.runtime.units_of_work(GatewayUnitOfWork)
    async with httpx.AsyncClient() as http:

        async def meanwhile() -> None:
            async with gateway.runtime.engine.connect() as connection:
                dropped = await connection.scalar(text(_DROP_LOCK_HOLDERS))
            assert dropped == 1
            async with units() as uow:
                # It waits out the first handler's stamp (committed with the reservation):
                # for all it knows, that purchase was sent.
                client = KinguinClient(kinguin.url, API_KEY, http)
                await Reserve(client, units, in_flight=1.0)(event, uow)
                await uow.commit()

        waiting = Reserve(
            KinguinClient(kinguin.url, API_KEY, http, limiter=SlowSlot(meanwhile)), units
        )
        with pytest.raises(TransientError, match="lock was lost"):
            async with units() as uow:
                await waiting(event, uow)
    # Bought once, by the redelivered request; the waiting handler stopped before buying.
    assert kinguin.calls("POST /v2/order") == 1
    [order] = kinguin.orders
    assert order.order_external_id == str(order_id)
    assert await state_of(gateway, order_id) == "placed"


async def test_a_request_redelivered_while_its_purchase_is_under_way_waits_and_buys_once(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    """The session dies while the POST is under way (the process killed mid-purchase) and
    the request is handled again at once, while Kinguin is still creating the order: a
    look-up then finds nothing, so the second handler must wait the purchase out first."""
    order_id = uuid4()
    event = request(order_id)
    units = gateway.runtime.units_of_work(GatewayUnitOfWork)
    kinguin.sandbox.faults.update({"delay_order_seconds": 2})
    async with httpx.AsyncClient() as http:
        reserve = Reserve(KinguinClient(kinguin.url, API_KEY, http), units, in_flight=4.0)

        async def first() -> None:
            async with units() as uow:
                await reserve(event, uow)
                await uow.commit()

        async def sent() -> bool:
            return kinguin.calls("POST /v2/order") == 1

        buying = asyncio.create_task(first())
        assert await eventually(sent)
        async with gateway.runtime.engine.connect() as connection:
            assert await connection.scalar(text(_DROP_LOCK_HOLDERS)) == 1
        async with units() as uow:
            await reserve(event, uow)
            await uow.commit()
        with contextlib.suppress(Exception):
            await buying  # its session is gone: it cannot record what it bought
    assert kinguin.calls("POST /v2/order") == 1
    [order] = kinguin.orders
    assert order.order_external_id == str(order_id)
    assert await state_of(gateway, order_id) == "placed"


async def test_a_handler_losing_its_session_as_it_stamps_its_purchase_buys_nothing(
    gateway: Gateway, kinguin: Kinguin
) -> None:
    """The purchase is stamped as sent before the lock is checked again: a handler whose
    session dies while it stamps is stopped by the check, and the one that took the lock
    meanwhile buys (had the check come first, both would have bought)."""
    order_id = uuid4()
    event = request(order_id)
    units = gateway.runtime.units_of_work(GatewayUnitOfWork)
    async with httpx.AsyncClient() as http:
        client = KinguinClient(kinguin.url, API_KEY, http)

        async def meanwhile() -> None:
            async with gateway.runtime.engine.connect() as connection:
                assert await connection.scalar(text(_DROP_LOCK_HOLDERS)) == 1
            async with units() as uow:
                await Reserve(client, units, in_flight=2.0, send_within=0.0)(event, uow)
                await uow.commit()

        opened: list[GatewayUnitOfWork] = []

        class StampingLate(GatewayUnitOfWork):
            async def __aenter__(self) -> "StampingLate":
                opened.append(self)
                if len(opened) == 2:  # the first opened the reservation; this one stamps
                    await meanwhile()
                return await super().__aenter__()

        def stamping_late() -> GatewayUnitOfWork:
            return StampingLate(gateway.runtime.engine)

        # Its slot came later than the stamp committed with the reservation allows.
        late = Reserve(client, stamping_late, in_flight=2.0, send_within=0.0)
        with pytest.raises(TransientError, match="lock was lost"):
            async with units() as uow:
                await late(event, uow)
    assert kinguin.calls("POST /v2/order") == 1
    assert await state_of(gateway, order_id) == "placed"


# Ends every session of this database holding an advisory lock: the waiting handler's.
_DROP_LOCK_HOLDERS = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory'"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


async def test_a_burst_of_purchases_as_large_as_the_pool_is_bought_without_starving_it(
    kinguin: Kinguin, database_url: str, bus_prefix: BusNamespace
) -> None:
    """Each purchase holds its message's connection (and the order's lock) and commits
    its own steps on another: with as many in hand as the pool has connections, all of
    them held one and waited for one more, until the pool's timeout failed them all."""
    async with started_gateway(
        database_url, bus_prefix, kinguin.url, database_max_connections=4, prefetch=4
    ) as gateway:
        requests = [request(uuid4()) for _ in range(8)]
        async with gateway.spy() as spy:
            await asyncio.gather(*(gateway.publish(event) for event in requests))
            created = await published(spy, "reservation.created", 8)
    assert len(created) == 8
    assert kinguin.calls("POST /v2/order") == 8
