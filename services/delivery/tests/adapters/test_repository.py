"""The delivery repository's per-order statements, plain SQL on the unit of work's driver:
one statement stores a delivery of any number of keys (its text the same whatever the
number), reads it back, and leaves nothing behind when the unit of work is not
committed."""

from uuid import uuid4

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bitloot_delivery.adapters.orm import delivered_keys, deliveries, emails
from bitloot_delivery.adapters.unit_of_work import DeliveryUnitOfWork
from bitloot_delivery.domain.keys import DeliveredKey
from bitloot_delivery.handlers.ports import NewDelivery


def new_delivery(key_count: int) -> NewDelivery:
    return NewDelivery(uuid4(), "buyer@example.com", "K-1", "k1", b"wrapped", "o/k.bin", key_count)


async def test_a_delivery_of_any_number_of_keys_is_stored_and_read_back(
    engine: AsyncEngine,
) -> None:
    stored = []
    for key_count in (1, 3):
        delivery = new_delivery(key_count)
        keys = [DeliveredKey(f"type/{i}", "never stored", f"p{i}") for i in range(key_count)]
        async with DeliveryUnitOfWork(engine) as uow:
            repository = uow.deliveries
            await repository.lock_order(delivery.order_id)
            assert await repository.get(delivery.order_id) is None
            await repository.add(delivery, keys)
            await uow.commit()
        stored.append(delivery)
    async with DeliveryUnitOfWork(engine) as uow:
        found = await uow.deliveries.get(stored[1].order_id)
    assert found is not None
    assert (found.order_id, found.customer_email, found.key_count) == (
        stored[1].order_id,
        "buyer@example.com",
        3,
    )
    assert (found.wrapped_data_key, found.emailed_at, found.purged_at) == (b"wrapped", None, None)
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                select(delivered_keys).where(delivered_keys.c.order_id == stored[1].order_id)
            )
        ).mappings()
        described = sorted((r["position"], r["key_type"], r["product_id"]) for r in rows)
        queued = (await connection.execute(select(emails.c.order_id, emails.c.kind))).all()
    assert described == [(0, "type/0", "p0"), (1, "type/1", "p1"), (2, "type/2", "p2")]
    assert sorted(queued) == sorted((d.order_id, "delivery") for d in stored)


async def test_a_delivery_not_committed_leaves_nothing(engine: AsyncEngine) -> None:
    delivery = new_delivery(1)
    async with DeliveryUnitOfWork(engine) as uow:
        await uow.deliveries.add(delivery, [DeliveredKey("t", "v", "p")])
    async with engine.connect() as connection:
        for table in (deliveries, delivered_keys, emails):
            assert (await connection.execute(select(table))).all() == []
