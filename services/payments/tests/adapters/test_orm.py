import asyncio
from decimal import Decimal

from alembic import command
from sqlalchemy import insert, select

from bitloot_contracts.events import ProductListed, parse_event
from bitloot_payments.adapters.orm import metadata, products
from bitloot_payments.migrations import VERSIONS
from bitloot_runtime.db import alembic_config, create_engine, ensure_database, migrate
from bitloot_runtime.tables import outbox
from bitloot_testing.postgres import schema_drift


async def test_migrations_create_exactly_the_tables_the_service_defines(database_url: str) -> None:
    await migrate(database_url, metadata, [VERSIONS])
    assert await schema_drift(database_url, metadata) == []


async def test_upgrading_announces_the_products_already_in_the_catalog(database_url: str) -> None:
    """p0008 lists every Kinguin product of the existing catalog to the gateway, once,
    active if any active product sells it, as a body the bus accepts."""
    await ensure_database(database_url)
    config = alembic_config(database_url, metadata, [VERSIONS])
    await asyncio.to_thread(command.upgrade, config, "p0007")
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            for sku, kinguin_id, active in (
                ("a", "k-1", True),
                ("b", "k-1", False),
                ("c", "k-2", False),
            ):
                await connection.execute(
                    insert(products).values(
                        sku=sku,
                        title=sku,
                        kinguin_product_id=kinguin_id,
                        price=Decimal("5"),
                        currency="usd",
                        max_purchase_price=Decimal("4"),
                        active=active,
                    )
                )
        await asyncio.to_thread(command.upgrade, config, "heads")
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(outbox.c.event_id, outbox.c.topic, outbox.c.order_id, outbox.c.body)
                )
            ).all()
    finally:
        await engine.dispose()
    events = [parse_event(row.topic, row.body) for row in rows]
    assert all(isinstance(event, ProductListed) for event in events)
    assert sorted(
        (e.kinguin_product_id, e.active) for e in events if isinstance(e, ProductListed)
    ) == [
        ("k-1", True),
        ("k-2", False),
    ]
    assert [row.event_id for row in rows] == [event.event_id for event in events]
    assert [row.order_id for row in rows] == [None, None]
