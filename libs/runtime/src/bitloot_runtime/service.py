"""Everything a service needs at run time, built from its settings in one place.

`ServiceRuntime` owns the engine, the broker, the relay and the consumers of one service.
Services build it in their bootstrap, register their routes, and hand `lifespan` to
Starlette so that start-up (migrate, declare, consume, relay) and shutdown (stop
consuming and let in-flight messages finish, stop the relay, close pools) happen with
the HTTP server.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from aio_pika.abc import AbstractConnection
from faststream.rabbit import RabbitBroker
from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.pool import QueuePool
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from bitloot_contracts.topics import SUBSCRIPTIONS
from bitloot_runtime.consumer import DRAIN_SECONDS, Consumer, EventT, Route
from bitloot_runtime.db import (
    EventObserver,
    UnitOfWork,
    UnitOfWorkT,
    create_engine,
    migrate,
    ping,
)
from bitloot_runtime.dead_letters import DeadLetterStore, summarize
from bitloot_runtime.health import NotReady, health_routes
from bitloot_runtime.idempotency import IdempotencyStore
from bitloot_runtime.logging import register_secret
from bitloot_runtime.metrics import RuntimeMetrics
from bitloot_runtime.outbox import OutboxRelay
from bitloot_runtime.publisher import BusPublisher, create_broker, publishing_blocked
from bitloot_runtime.settings import ServiceSettings
from bitloot_runtime.topology import Topology, declare_topology
from bitloot_runtime.worker import Worker

logger = logging.getLogger(__name__)

# The longest one step of `stop` may take before the next goes on without it.
STOP_STEP_SECONDS = 10.0


class ServiceRuntime:
    """The database, bus, outbox relay, consumers and health of one service."""

    def __init__(
        self,
        *,
        service: str,
        settings: ServiceSettings,
        metadata: MetaData,
        version_locations: Sequence[Path] = (),
        subscriptions: Mapping[str, Sequence[str]] = SUBSCRIPTIONS,
        in_memory_broker: RabbitBroker | None = None,
        unit_of_work_class: type[UnitOfWork] = UnitOfWork,
    ) -> None:
        """With `in_memory_broker` (FastStream's TestRabbitBroker, shared by every service
        of one process) the caller owns the broker: it starts and stops it, and nothing is
        declared; otherwise the runtime connects to `settings.amqp_url`. Every unit of work
        it opens (for a consumed message, a request, a loop's pass) is a
        `unit_of_work_class`: the service's subclass that hands out its repositories."""
        self.service = service
        self.settings = settings
        for url in (settings.database_url, settings.amqp_url):
            if password := urlsplit(url).password:
                register_secret(password)
        self._metadata = metadata
        self._version_locations = list(version_locations)
        self._subscriptions = subscriptions
        self._event_observers: dict[str, list[EventObserver]] = {}
        self._unit_of_work_class = unit_of_work_class
        self.metrics = RuntimeMetrics(service)
        self.engine = create_engine(
            settings.database_url, max_connections=settings.database_max_connections
        )
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self.topology = Topology(settings.bus_prefix)
        self.in_memory = in_memory_broker is not None
        self.broker = in_memory_broker or create_broker(
            settings.amqp_url, prefetch=settings.prefetch
        )
        self.publisher = BusPublisher(
            self.broker, self.topology, self.metrics, in_memory=self.in_memory
        )
        self.dead_letters = DeadLetterStore(self.sessionmaker)
        self.idempotency = IdempotencyStore(
            self.sessionmaker,
            ttl=timedelta(hours=settings.idempotency_key_hours),
            doubt_ttl=timedelta(hours=settings.idempotency_doubt_hours),
            wait_seconds=settings.idempotency_wait_seconds,
        )
        self.relay = OutboxRelay(
            engine=self.engine,
            database_url=settings.database_url,
            publisher=self.publisher,
            metrics=self.metrics,
            batch_size=settings.outbox_batch_size,
            poll_interval=settings.outbox_poll_interval,
            outbox_retention=timedelta(hours=settings.outbox_retention_hours),
            inbox_retention=timedelta(hours=settings.inbox_retention_hours),
        )
        self.consumer = Consumer(
            service=service,
            broker=self.broker,
            topology=self.topology,
            unit_of_work=self.unit_of_work,
            publisher=self.publisher,
            dead_letters=self.dead_letters,
            metrics=self.metrics,
            retry_delays=settings.retry_delays,
            prefetch=settings.prefetch,
            in_memory=self.in_memory,
        )
        self._connection: AbstractConnection | None = None
        self._background: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        self._background_tasks: list[asyncio.Task[None]] = []
        self._workers: list[Worker] = []
        self._gauge_refreshes: list[Callable[[], Awaitable[None]]] = []
        self.add_worker(self.relay.worker)
        self.add_worker(self.idempotency.sweeper())

    @property
    def connection(self) -> AbstractConnection | None:
        """The service's AMQP connection once started (None on the in-memory broker):
        for consumers the runtime does not manage, such as per-instance live queues."""
        return self._connection

    def unit_of_work(self) -> UnitOfWork:
        return self._unit_of_work_class(self.engine, self._event_observers)

    def units_of_work(self, kind: type[UnitOfWorkT]) -> Callable[[], UnitOfWorkT]:
        """A factory of the service's own units of work, typed as `kind` (the class this
        runtime was built with, or one of its bases)."""
        if not issubclass(self._unit_of_work_class, kind):
            raise TypeError(f"{self._unit_of_work_class.__name__} is not a {kind.__name__}")
        made = self._unit_of_work_class
        return lambda: made(self.engine, self._event_observers)

    def on_event(self, topic: str, observer: EventObserver) -> None:
        """Call `observer(event)` for each `topic` event a unit of work of this service
        queues, once that unit commits (never for one rolled back): the service's
        business metrics count facts when the transaction recording them commits."""
        self._event_observers.setdefault(topic, []).append(observer)

    def subscribe(self, route: Route[EventT]) -> None:
        """Register a handler; call before `start`."""
        self.consumer.subscribe(route)

    def add_background(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        """Run `loop()` from `start` until `stop` cancels it: a task that is not a pass
        run again and again (a client held open until stop); those are `add_worker`'s.

        The loop must catch and log its own errors and keep going; if it returns or
        raises, that is logged and it is not restarted. Call before `start`.
        """
        self._background.append((name, loop))

    def add_worker(self, worker: Worker) -> None:
        """Run `worker` from `start` until `stop`, its health in the metrics (the
        ``worker_*`` gauges, by loop). Call before `start`."""
        self._workers.append(worker)
        self.add_background(worker.name, worker.run)

    async def start(self) -> None:
        """Migrate the database, declare the bus, start consuming and relaying."""
        await migrate(self.settings.database_url, self._metadata, self._version_locations)
        if not self.in_memory:
            self._connection = await self.broker.connect()
            await declare_topology(
                self.broker,
                self.topology,
                self.service,
                self.settings.retry_delays,
                self._subscriptions,
            )
            await self.consumer.start(self._connection)
            # Only what a service subscribes on the broker itself runs through FastStream.
            await self.broker.start()
        for name, loop in self._background:
            task = asyncio.create_task(_logged(name, loop), name=f"{self.service}-{name}")
            self._background_tasks.append(task)
        logger.info("service started", extra={"service_name": self.service})

    async def stop(self) -> None:
        """Stop consuming (in-flight handlers finish first), stop relaying, close pools."""
        if not self.in_memory:
            await _bounded("consumers", self.consumer.stop(), STOP_STEP_SECONDS + DRAIN_SECONDS)
        for task in self._background_tasks:
            task.cancel()
        if self._background_tasks:
            _, pending = await asyncio.wait(self._background_tasks, timeout=STOP_STEP_SECONDS)
            for task in pending:
                logger.warning("a loop did not stop; leaving it", extra={"loop": task.get_name()})
        self._background_tasks.clear()
        if not self.in_memory:
            await _bounded("publisher", self.publisher.close())
            await _bounded("broker", self.broker.stop())
        await _bounded("database pool", self.engine.dispose())
        logger.info("service stopped", extra={"service_name": self.service})

    async def refresh_gauges(self) -> None:
        """Read every gauge of the database; one read failing does not keep the others
        from theirs, and the first failure is raised once they are done."""
        self.refresh_pool_gauges()
        failures: list[Exception] = []
        for refresh in (
            self.relay.refresh_metrics,
            self._refresh_dead_letters,
            *self._gauge_refreshes,
        ):
            try:
                await refresh()
            except Exception as exc:
                failures.append(exc)
        if failures:
            raise failures[0]

    async def _refresh_dead_letters(self) -> None:
        self.metrics.dead_letters.set(await self.dead_letters.count_waiting())

    def refresh_pool_gauges(self) -> None:
        """Set the pool gauges (read before the refresh's own queries take connections)
        and the workers' health."""
        for worker in self._workers:
            self.metrics.worker_failures.labels(loop=worker.name).set(worker.health.failures)
            success = self.metrics.worker_last_success.labels(loop=worker.name)
            success.set(worker.health.last_success or 0)
        pool = self.engine.pool
        if isinstance(pool, QueuePool):
            self.metrics.db_pool_checked_out.set(pool.checkedout())
            self.metrics.db_pool_size.set(pool.size())

    def add_gauge_refresh(self, refresh: Callable[[], Awaitable[None]]) -> None:
        """Run `refresh()` before each scrape, after the runtime's own gauges: a service's
        gauges read from its database (orders waiting, sagas open)."""
        self._gauge_refreshes.append(refresh)

    async def _broker_ready(self) -> None:
        if self.in_memory:
            return
        if not await self.broker.ping(timeout=2.0):
            raise ConnectionError("broker did not answer")
        if await publishing_blocked(self._connection):
            raise NotReady("blocked")

    async def _database_ready(self) -> None:
        await ping(self.engine)

    async def _outbox_ready(self) -> None:
        overdue = await self.relay.overdue()
        if overdue > self.settings.outbox_ready_lag_seconds:
            raise NotReady(f"lagging: an event due {overdue:.0f} s ago is not published")

    def health_routes(self) -> list[BaseRoute]:
        """`/healthz`, `/readyz` and `/metrics`.

        `/readyz` fails while the database or the broker does not answer, while the broker
        blocks publishing (an alarm), and while the outbox lags past
        `outbox_ready_lag_seconds`: in each case the service would take work it cannot pass
        on, so the load balancer should send it elsewhere, or nowhere, until it can.
        """
        checks = {
            "database": self._database_ready,
            "broker": self._broker_ready,
            "outbox": self._outbox_ready,
        }
        return list(
            health_routes(checks, self.metrics, refresh=self.refresh_gauges, stopped=self.stopped)
        )

    def stopped(self) -> list[str]:
        """The names of the relay and background loops that have ended since `start`."""
        return [task.get_name() for task in self._background_tasks if task.done()]

    @asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self.stop()


async def _bounded(step: str, action: Awaitable[None], seconds: float = 0.0) -> None:
    """Await one step of the shutdown for at most `seconds` (`STOP_STEP_SECONDS` by
    default): a broker or database that stops answering must not keep the process alive
    until it is killed, skipping the steps after it."""
    try:
        await asyncio.wait_for(action, seconds or STOP_STEP_SECONDS)
    except TimeoutError:
        logger.warning("a shutdown step did not finish in time; going on", extra={"step": step})
    except Exception as exc:
        logger.warning(
            "a shutdown step failed; going on", extra={"step": step, "error": summarize(exc)}
        )


async def _logged(name: str, loop: Callable[[], Awaitable[None]]) -> None:
    try:
        await loop()
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("background loop crashed", extra={"loop": name})
        return
    logger.error("background loop returned", extra={"loop": name})
