"""Fixtures of the delivery tests: the service on real PostgreSQL, RabbitMQ, S3 and SMTP."""

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager

import pytest
from delivery_support import Running, StartDelivery, settings_for, started
from sqlalchemy.ext.asyncio import AsyncEngine

from bitloot_delivery.adapters.orm import metadata
from bitloot_delivery.migrations import VERSIONS
from bitloot_runtime import sealing
from bitloot_runtime.db import create_engine, migrate
from bitloot_testing.rabbitmq import BusNamespace
from bitloot_testing.s3 import S3Server
from bitloot_testing.smtp import SmtpServer


@pytest.fixture
def delivery_with(
    database_url: str,
    bus_prefix: BusNamespace,
    s3_server: S3Server,
    s3_bucket: str,
    smtp_inbox: SmtpServer,
) -> StartDelivery:
    """Starts the service with some settings changed (``claim_link_ttl_days=…``)."""

    def start(**overrides: object) -> AbstractAsyncContextManager[Running]:
        private_key, public_key = sealing.generate_key_pair()
        settings = settings_for(
            database_url=database_url,
            bus=bus_prefix,
            s3=s3_server,
            bucket=s3_bucket,
            smtp=smtp_inbox,
            hpke_private_key=private_key,
            **overrides,
        )
        return started(settings, bus_prefix, public_key)

    return start


@pytest.fixture
async def delivery(delivery_with: StartDelivery) -> AsyncIterator[Running]:
    async with delivery_with() as running:
        yield running


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on a fresh database migrated to the service's schema."""
    await migrate(database_url, metadata, [VERSIONS])
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()
