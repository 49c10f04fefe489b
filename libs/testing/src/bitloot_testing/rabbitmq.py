"""RabbitMQ for the tests, and a name prefix per test so that tests never share exchanges
or queues, nor leave them behind."""

import itertools
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import aio_pika
import pytest

from bitloot_runtime.settings import DEFAULT_RETRY_DELAYS
from bitloot_runtime.topology import Topology
from bitloot_testing.servers import AMQP_ENV, LOCAL_AMQP, RabbitServer, rabbitmq_container, resolve

_test_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def rabbitmq_server() -> Iterator[RabbitServer]:
    """The RabbitMQ server of this run: BITLOOT_TEST_AMQP_URL, else a container where a
    Docker engine answers, else 127.0.0.1:5672."""
    with resolve(AMQP_ENV, LOCAL_AMQP, 5672, rabbitmq_container) as url:
        yield RabbitServer(url)


@dataclass
class BusNamespace:
    """The exchanges and queues of one test: all named with `prefix`, deleted after it.

    Without the management plugin a broker cannot list its queues, so the namespace only
    deletes what it was told about. Code under test must name everything it declares from
    `prefix` (take the prefix, or the full names, as a parameter), and the test registers
    each name with `track_queue` / `track_exchange`, before or after it is declared.
    """

    prefix: str
    amqp_url: str
    queues: set[str] = field(default_factory=set)
    exchanges: set[str] = field(default_factory=set)

    @classmethod
    def for_services(
        cls,
        prefix: str,
        amqp_url: str,
        services: Iterable[str],
        delays: Iterable[float] = DEFAULT_RETRY_DELAYS,
    ) -> "BusNamespace":
        """A namespace tracking every exchange and queue `services` declare under `prefix`
        (their retry queues for `delays` included)."""
        namespace = cls(prefix, amqp_url)
        namespace.track_services(services, delays)
        return namespace

    def track_services(
        self, services: Iterable[str], delays: Iterable[float] = DEFAULT_RETRY_DELAYS
    ) -> None:
        """Track every exchange and queue `services` declare under this prefix, with retry
        queues for each of `delays` (several services' different delays: call again)."""
        topology = Topology(self.prefix)
        for service in services:
            for name in topology.names(service, tuple(delays)):
                self.track_queue(name)
                self.track_exchange(name)

    def track_queue(self, name: str) -> None:
        """Delete queue `name` when the test ends (a name never declared is harmless)."""
        self._check(name)
        self.queues.add(name)

    def track_exchange(self, name: str) -> None:
        """Delete exchange `name` when the test ends (a name never declared is harmless)."""
        self._check(name)
        self.exchanges.add(name)

    def _check(self, name: str) -> None:
        # Deleting a name outside the prefix could delete another test's (or a service's)
        # queue on a shared broker.
        if not name.startswith(self.prefix):
            raise ValueError(f"Name {name!r} lacks this test's prefix {self.prefix!r}.")

    async def delete_all(self) -> None:
        """Delete every tracked queue, then every tracked exchange; missing ones are fine."""
        connection = await aio_pika.connect(self.amqp_url)
        try:
            for name in sorted(self.queues):
                await _delete(connection, "queue", name)
            for name in sorted(self.exchanges):
                await _delete(connection, "exchange", name)
        finally:
            await connection.close()


async def _delete(
    connection: aio_pika.abc.AbstractConnection, kind: Literal["queue", "exchange"], name: str
) -> None:
    # A broker error (not found; an exclusive queue of a live connection) closes the channel
    # it happened on: a fresh channel per delete keeps one failure from stopping the rest.
    channel = await connection.channel()
    try:
        if kind == "queue":
            await channel.queue_delete(name)
        else:
            await channel.exchange_delete(name)
    except aio_pika.exceptions.ChannelClosed:
        pass
    finally:
        if not channel.is_closed:
            await channel.close()


@pytest.fixture
async def bus_prefix(rabbitmq_server: RabbitServer, run_id: str) -> AsyncIterator[BusNamespace]:
    """A `BusNamespace` with a prefix unique to this test (``t1a2b3c4.7.``); at teardown
    every queue and exchange tracked in it is deleted."""
    namespace = BusNamespace(f"{run_id}.{next(_test_numbers)}.", rabbitmq_server.url)
    try:
        yield namespace
    finally:
        await namespace.delete_all()
