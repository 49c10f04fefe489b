from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bitloot_testing import servers
from bitloot_testing.net import free_port


@contextmanager
def container_never_started() -> Iterator[str]:
    started.append(True)
    yield "container"


started: list[bool] = []


def test_env_var_overrides_server_resolution(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BITLOOT_TEST_X_URL", "postgresql://elsewhere/postgres")
    with servers.resolve("BITLOOT_TEST_X_URL", "unused", 1, container_never_started) as url:
        assert url == "postgresql://elsewhere/postgres"
    assert started == []


def test_without_variable_or_docker_or_local_server_the_error_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BITLOOT_TEST_X_URL", raising=False)
    monkeypatch.setattr(servers, "docker_engine_available", lambda: False)
    with pytest.raises(servers.NoServer, match="BITLOOT_TEST_X_URL"):
        servers.resolve("BITLOOT_TEST_X_URL", "unused", free_port(), container_never_started)


def test_local_server_is_used_when_docker_is_absent(
    monkeypatch: pytest.MonkeyPatch, postgres_server: servers.PostgresServer
) -> None:
    monkeypatch.delenv("BITLOOT_TEST_X_URL", raising=False)
    monkeypatch.setattr(servers, "docker_engine_available", lambda: False)
    # Any port with a listener will do; the fixture's server has one.
    port = int(postgres_server.url.rsplit(":", 1)[1].split("/")[0])
    with servers.resolve("BITLOOT_TEST_X_URL", "local", port, container_never_started) as url:
        assert url == "local"
    assert started == []
