"""Retention: keys older than the period are deleted from storage with an audit row, and
never a moment earlier; the dry run changes nothing."""

from datetime import timedelta
from uuid import UUID

import httpx
import pytest
from delivery_support import Running, delivered_many, run_command
from sqlalchemy import func, select, update

from bitloot_delivery.adapters.object_store import ObjectNotFound, object_store
from bitloot_delivery.adapters.orm import deliveries, key_events
from bitloot_delivery.adapters.unit_of_work import DeliveryUnitOfWork
from bitloot_delivery.bootstrap import reveal_links
from bitloot_delivery.domain.retention import RetentionPolicy
from bitloot_delivery.handlers.retention import RetentionSweep
from bitloot_delivery.handlers.store_keys import object_key
from bitloot_testing.smtp import SmtpServer

PERIOD = timedelta(days=180)


async def deliver_aged(delivery: Running, smtp_inbox: SmtpServer, *ages: timedelta) -> list[UUID]:
    """One delivery per age, its stored_at moved that far into the past."""
    order_ids = await delivered_many(delivery, smtp_inbox, len(ages))
    async with delivery.runtime.engine.begin() as connection:
        for order_id, age in zip(order_ids, ages, strict=True):
            await connection.execute(
                update(deliveries)
                .where(deliveries.c.order_id == order_id)
                .values(stored_at=func.now() - age)
            )
    return order_ids


async def test_keys_past_retention_are_purged_with_an_audit_row_and_younger_ones_kept(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    old, young = await deliver_aged(
        delivery, smtp_inbox, PERIOD + timedelta(minutes=1), PERIOD - timedelta(minutes=1)
    )
    store = object_store(delivery.settings)
    sweep = RetentionSweep(
        unit_of_work=delivery.runtime.units_of_work(DeliveryUnitOfWork),
        store=store,
        policy=RetentionPolicy(PERIOD),
    )
    try:
        assert await sweep.sweep(dry_run=True) == [old]
        assert await store.get(object_key(old))
        assert await sweep.sweep() == [old]
        assert await sweep.sweep() == []
        with pytest.raises(ObjectNotFound):
            await store.get(object_key(old))
        assert await store.get(object_key(young))
    finally:
        await store.aclose()
    async with delivery.runtime.engine.connect() as connection:
        rows = (await connection.execute(select(deliveries))).mappings().all()
        audit = (await connection.execute(select(key_events))).mappings().all()
    state = {row["order_id"]: (row["purged_at"], row["wrapped_data_key"]) for row in rows}
    assert state[old][0] is not None
    assert state[old][1] is None
    assert state[young][0] is None
    assert state[young][1] is not None
    assert [(a["order_id"], a["action"], a["actor"]) for a in audit] == [
        (old, "keys_purged", "retention")
    ]
    token = reveal_links(delivery.settings).issue(old)
    transport = httpx.ASGITransport(app=delivery.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        page = await http.get(f"/keys/{token}")
    assert (page.status_code, "Keys deleted" in page.text) == (410, True)


async def test_the_retention_command_dry_run_lists_and_changes_nothing(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    [old] = await deliver_aged(delivery, smtp_inbox, PERIOD + timedelta(days=1))
    stdout, _ = await run_command(delivery.settings, "retention", "--dry-run")
    assert stdout.splitlines() == [
        f"would purge order {old}",
        "would purge 1 deliveries older than 180 days",
    ]
    async with delivery.runtime.engine.connect() as connection:
        assert await connection.scalar(select(deliveries.c.purged_at)) is None
