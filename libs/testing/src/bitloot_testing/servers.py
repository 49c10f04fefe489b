"""Where the tests' PostgreSQL and RabbitMQ are: named by environment variables, started
in containers where Docker runs, or the servers on this machine's default ports."""

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from bitloot_testing.docker import docker_engine_available
from bitloot_testing.net import port_open

POSTGRES_ENV = "BITLOOT_TEST_POSTGRES_URL"
AMQP_ENV = "BITLOOT_TEST_AMQP_URL"
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_AMQP = "amqp://guest:guest@127.0.0.1:5672/"


class NoServer(RuntimeError):
    """Neither an environment variable, nor Docker, nor a local server."""


@dataclass(frozen=True)
class PostgresServer:
    """An administrative DSN (database ``postgres``) of a server the tests may use."""

    url: str


@dataclass(frozen=True)
class RabbitServer:
    url: str


def resolve(
    env_var: str,
    local_url: str,
    local_port: int,
    container: Callable[[], AbstractContextManager[str]],
) -> AbstractContextManager[str]:
    """The server's URL, in order: `env_var`, a container, the local default port."""
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
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer("postgres:16-alpine", driver=None) as container:
        yield container.get_connection_url()


@contextmanager
def rabbitmq_container() -> Iterator[str]:
    from testcontainers.rabbitmq import RabbitMqContainer

    with RabbitMqContainer("rabbitmq:3.13-management-alpine") as container:
        host, port = container.get_container_host_ip(), container.get_exposed_port(5672)
        yield f"amqp://guest:guest@{host}:{port}/"
