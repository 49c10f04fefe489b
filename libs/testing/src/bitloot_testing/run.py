"""The identity of one test run, part of every name the run creates on shared servers."""

import secrets

import pytest


def new_run_id() -> str:
    """`t` and 8 hex digits: starts with a letter, so it is a valid part of a database,
    queue or bucket name, and is unique enough that concurrent runs never collide."""
    return "t" + secrets.token_hex(4)


@pytest.fixture(scope="session")
def run_id() -> str:
    """A token unique to this test run (to each pytest-xdist worker, too)."""
    return new_run_id()
