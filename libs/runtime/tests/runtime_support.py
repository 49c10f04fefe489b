"""A throwaway service for the runtime's tests: a `widgets` table, one event, handlers
that record what they saw, a spy queue that records everything on the bus, and the JSON
lines the service logs."""

import asyncio
import io
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import ClassVar, Literal
from uuid import UUID, uuid4

import aio_pika
import httpx
from sqlalchemy import Column, MetaData, Table, Text, Uuid, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bitloot_contracts.events import Event
from bitloot_runtime.consumer import Route
from bitloot_runtime.db import UnitOfWork
from bitloot_runtime.logging import configure_logging
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.settings import ServiceSettings, load_settings
from bitloot_runtime.tables import include_runtime_tables
from bitloot_runtime.topology import Topology
from bitloot_testing.bus import eventually
from bitloot_testing.rabbitmq import BusNamespace

WIDGET_MADE = "widget.made"
SERVICE = "widgets"

metadata = MetaData()
widgets = Table(
    "widgets",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("order_id", Uuid, nullable=False),
    Column("name", Text, nullable=False),
)
include_runtime_tables(metadata)


class WidgetMade(Event):
    topic: ClassVar[str] = WIDGET_MADE
    schema_version: Literal[1] = 1
    name: str


def widget_event(name: str = "w") -> WidgetMade:
    return WidgetMade(order_id=uuid4(), name=name)


async def create_widgets_table(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(lambda sync: widgets.create(sync, checkfirst=True))


async def make_widget(uow: UnitOfWork, order_id: UUID, name: str, *, emit: bool = True) -> None:
    """The state change of the tests: a widget row, and its event through the outbox."""
    await uow.session.execute(insert(widgets).values(id=uuid4(), order_id=order_id, name=name))
    if emit:
        await uow.emit(WidgetMade(order_id=order_id, name=name))


async def widget_names(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return list((await connection.execute(select(widgets.c.name))).scalars())


@dataclass
class Recorder:
    """A handler that records each call and fails as told."""

    fail_times: int = 0
    permanent: bool = False
    pause: float = 0.0
    calls: list[float] = field(default_factory=list)

    async def __call__(self, event: WidgetMade, uow: UnitOfWork) -> None:
        self.calls.append(time.monotonic())
        if self.pause:
            await asyncio.sleep(self.pause)
        if len(self.calls) <= self.fail_times:
            if self.permanent:
                from bitloot_runtime.errors import PermanentError

                raise PermanentError("widget_rejected", f"widget {event.name!r} rejected")
            raise ConnectionError(f"flaky dependency (call {len(self.calls)})")
        await make_widget(uow, event.order_id, f"handled:{event.name}", emit=False)


def settings_for(database_url: str, amqp_url: str, prefix: str, **extra: object) -> ServiceSettings:
    values: dict[str, object] = {
        "database_url": database_url,
        "amqp_url": amqp_url,
        "bus_prefix": prefix,
        "retry_delays": (0.3, 0.6),
        "outbox_poll_interval": 0.2,
    }
    values.update(extra)
    return load_settings(ServiceSettings, **values)


def track(bus: BusNamespace, runtime: ServiceRuntime) -> None:
    """Have `bus` delete the queues and exchanges `runtime` declared, after the test."""
    for name in runtime.topology.names(
        SERVICE, runtime.settings.retry_delays, {SERVICE: (WIDGET_MADE,)}
    ):
        bus.track_queue(name)
        bus.track_exchange(name)


def widget_runtime(
    settings: ServiceSettings,
    handler: Callable[[WidgetMade, UnitOfWork], Awaitable[None]] | None = None,
    *,
    service: str = SERVICE,
    subscriptions: Mapping[str, Sequence[str]] | None = None,
    unit_of_work_class: type[UnitOfWork] = UnitOfWork,
) -> ServiceRuntime:
    """A ServiceRuntime of the widget service, not started, consuming `widget.made` with
    `handler` (if any)."""
    runtime = ServiceRuntime(
        service=service,
        settings=settings,
        metadata=metadata,
        subscriptions=subscriptions or {SERVICE: (WIDGET_MADE,)},
        unit_of_work_class=unit_of_work_class,
    )
    if handler is not None:
        runtime.subscribe(Route(WIDGET_MADE, WidgetMade, handler))
    return runtime


@asynccontextmanager
async def running_service(
    settings: ServiceSettings,
    handler: Callable[[WidgetMade, UnitOfWork], Awaitable[None]] | None = None,
    *,
    service: str = SERVICE,
    subscriptions: Mapping[str, Sequence[str]] | None = None,
) -> AsyncIterator[ServiceRuntime]:
    """A started ServiceRuntime consuming `widget.made` with `handler` (if any)."""
    runtime = widget_runtime(settings, handler, service=service, subscriptions=subscriptions)
    await runtime.start()
    await create_widgets_table(runtime.engine)
    try:
        yield runtime
    finally:
        await runtime.stop()


@asynccontextmanager
async def on_bus(
    database_url: str,
    bus: BusNamespace,
    handler: Callable[[WidgetMade, UnitOfWork], Awaitable[None]] | None = None,
    **settings: object,
) -> AsyncIterator[ServiceRuntime]:
    """`running_service` on `bus` (`settings_for` with `settings`), its names `track`ed."""
    async with running_service(
        settings_for(database_url, bus.amqp_url, bus.prefix, **settings), handler
    ) as runtime:
        track(bus, runtime)
        yield runtime


async def queue_depth(amqp_url: str, name: str) -> int:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(name, passive=True)
        return queue.declaration_result.message_count or 0
    finally:
        await connection.close()


async def publish_raw(
    amqp_url: str,
    exchange: str,
    routing_key: str,
    body: bytes,
    *,
    message_id: str | None = None,
) -> None:
    """Publish as any client could, bypassing our publisher (hostile or foreign input)."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        target = await channel.get_exchange(exchange)
        message = aio_pika.Message(body, message_id=message_id or str(uuid4()))
        await target.publish(message, routing_key=routing_key)
    finally:
        await connection.close()


def child_env(
    database_url: str,
    bus: BusNamespace,
    delays: Sequence[float],
    subscriptions: Mapping[str, Sequence[str]],
) -> dict[str, str]:
    """The environment of a widgets service run as a child process (WIDGETS_* settings)
    on `bus`, with every name its topology declares tracked for deletion at teardown."""
    for name in Topology(bus.prefix).names(SERVICE, delays, subscriptions):
        bus.track_exchange(name)
        bus.track_queue(name)
    return {
        **os.environ,
        "WIDGETS_DATABASE_URL": database_url,
        "WIDGETS_AMQP_URL": bus.amqp_url,
        "WIDGETS_BUS_PREFIX": bus.prefix,
        "WIDGETS_RETRY_DELAYS": ",".join(str(delay) for delay in delays),
    }


async def wait_until_serving(port: int, timeout: float = 60) -> None:
    """Wait until a child process's server on `port` answers ``/healthz``."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:

        async def up() -> bool:
            try:
                return (await http.get("/healthz")).status_code == 200
            except httpx.TransportError:
                return False

        assert await eventually(up, timeout=timeout), "the service did not start"


@contextmanager
def captured_logs(service: str = SERVICE) -> Iterator[io.StringIO]:
    """What the service logs inside the block, one JSON object a line; after it, logging
    goes back to standard error."""
    stream = io.StringIO()
    configure_logging(service, "INFO", stream)
    try:
        yield stream
    finally:
        configure_logging(service, "INFO")


def log_entries(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]
