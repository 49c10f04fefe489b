"""RabbitMQ for the tests, and a name prefix per test so that tests never share queues."""

import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

import aio_pika
import pytest

from bitloot_testing.servers import AMQP_ENV, LOCAL_AMQP, RabbitServer, rabbitmq_container, resolve

_counter = itertools.count(1)


@pytest.fixture(scope="session")
def rabbitmq_server() -> Iterator[RabbitServer]:
    """The RabbitMQ server of this test run."""
    with resolve(AMQP_ENV, LOCAL_AMQP, 5672, rabbitmq_container) as url:
        yield RabbitServer(url)


@dataclass
class BusNamespace:
    """A prefix for every exchange and queue of one test, and what to delete after it.

    The management API is not assumed, so names cannot be listed: code under test
    declares names derived from `prefix`, and the test registers them with `track_*`.
    """

    prefix: str
    amqp_url: str
    queues: set[str] = field(default_factory=set)
    exchanges: set[str] = field(default_factory=set)

    def track_queue(self, name: str) -> None:
        self._check(name)
        self.queues.add(name)

    def track_exchange(self, name: str) -> None:
        self._check(name)
        self.exchanges.add(name)

    def _check(self, name: str) -> None:
        if not name.startswith(self.prefix):
            raise ValueError(f"Name {name!r} lacks this test's prefix {self.prefix!r}.")

    async def delete_all(self) -> None:
        connection = await aio_pika.connect(self.amqp_url)
        try:
            for kind, names in (("queue", self.queues), ("exchange", self.exchanges)):
                for name in sorted(names):
                    # A not-found error closes the channel it happened on: one per delete.
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
        finally:
            await connection.close()


@pytest.fixture
async def bus_prefix(rabbitmq_server: RabbitServer, run_id: str) -> AsyncIterator[BusNamespace]:
    """A unique prefix for this test's exchanges and queues, deleted at teardown."""
    namespace = BusNamespace(f"{run_id}.{next(_counter)}.", rabbitmq_server.url)
    yield namespace
    await namespace.delete_all()
