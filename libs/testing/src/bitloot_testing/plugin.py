"""The pytest plugin (entry point ``bitloot``): every fixture the BitLoot tests share."""

import uuid

import pytest

from bitloot_testing.postgres import database_factory, database_url, postgres_server
from bitloot_testing.rabbitmq import bus_prefix, rabbitmq_server
from bitloot_testing.s3 import s3_bucket, s3_server
from bitloot_testing.smtp import smtp_inbox, smtp_server


@pytest.fixture(scope="session")
def run_id() -> str:
    """A token unique to this test run, in every database and queue name it creates."""
    return "t" + uuid.uuid4().hex[:8]


__all__ = [
    "bus_prefix",
    "database_factory",
    "database_url",
    "postgres_server",
    "rabbitmq_server",
    "run_id",
    "s3_bucket",
    "s3_server",
    "smtp_inbox",
    "smtp_server",
]
