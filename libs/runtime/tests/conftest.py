"""Fixtures of the runtime's tests."""

import io
from collections.abc import Iterator

import pytest
from runtime_support import captured_logs


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """The JSON lines the `widgets` service logs during the test."""
    with captured_logs() as stream:
        yield stream
