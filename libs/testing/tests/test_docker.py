"""Docker engine detection: an engine that does not answer counts as none."""

import pytest

from bitloot_testing.docker import docker_engine_answers


def test_an_engine_that_does_not_answer_is_reported_absent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/bitloot/docker.sock")
    assert docker_engine_answers(timeout=5) is False
