"""Where the PostgreSQL and RabbitMQ servers come from."""

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bitloot_testing import servers
from bitloot_testing.net import free_port


class Containers:
    """A stand-in container starter that records whether it was asked to start."""

    def __init__(self) -> None:
        self.started = 0

    @contextmanager
    def start(self) -> Iterator[str]:
        self.started += 1
        yield "container"


def test_env_var_overrides_server_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    containers = Containers()
    monkeypatch.setenv("BITLOOT_TEST_X_URL", "postgresql://elsewhere/postgres")
    # Whatever Docker or the local port would offer, the variable wins.
    monkeypatch.setattr(servers, "docker_engine_available", lambda: True)
    with servers.resolve("BITLOOT_TEST_X_URL", "local", 1, containers.start) as url:
        assert url == "postgresql://elsewhere/postgres"
    assert containers.started == 0


def test_a_container_is_started_when_docker_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    containers = Containers()
    monkeypatch.delenv("BITLOOT_TEST_X_URL", raising=False)
    monkeypatch.setattr(servers, "docker_engine_available", lambda: True)
    with servers.resolve("BITLOOT_TEST_X_URL", "local", 1, containers.start) as url:
        assert url == "container"
    assert containers.started == 1


def test_local_server_is_used_when_docker_is_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    containers = Containers()
    monkeypatch.delenv("BITLOOT_TEST_X_URL", raising=False)
    monkeypatch.setattr(servers, "docker_engine_available", lambda: False)
    with socket.socket() as local_server:
        local_server.bind(("127.0.0.1", 0))
        local_server.listen()
        port = local_server.getsockname()[1]
        with servers.resolve("BITLOOT_TEST_X_URL", "local", port, containers.start) as url:
            assert url == "local"
    assert containers.started == 0


def test_without_variable_or_docker_or_local_server_the_error_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    containers = Containers()
    monkeypatch.delenv("BITLOOT_TEST_X_URL", raising=False)
    monkeypatch.setattr(servers, "docker_engine_available", lambda: False)
    with pytest.raises(servers.NoServer, match="set BITLOOT_TEST_X_URL"):
        servers.resolve("BITLOOT_TEST_X_URL", "local", free_port(), containers.start)
    assert containers.started == 0
