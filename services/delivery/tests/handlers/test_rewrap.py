"""Rotating the KEK: every data key moves to the current KEK, the keys still open with
the new KEK alone, the run is idempotent, and the command does it beside the service."""

import asyncio
import base64
import os

from delivery_support import TEXT_KEY, Running, delivered_many, run_command
from sqlalchemy import select

from bitloot_delivery.adapters.object_store import object_store
from bitloot_delivery.adapters.orm import deliveries, key_events
from bitloot_delivery.adapters.unit_of_work import DeliveryUnitOfWork
from bitloot_delivery.bootstrap import reveal_links
from bitloot_delivery.domain.vault import KeyEncryptionKeys
from bitloot_delivery.handlers.reveal import RevealKeys, Visitor
from bitloot_delivery.handlers.rewrap import Rewrap
from bitloot_testing.smtp import SmtpServer


def rotated(delivery: Running) -> KeyEncryptionKeys:
    old = delivery.settings.key_encryption_keys()
    return KeyEncryptionKeys("k2", {**old.keys, "k2": os.urandom(32)})


async def kek_ids(delivery: Running) -> set[str]:
    async with delivery.runtime.engine.connect() as connection:
        return set((await connection.execute(select(deliveries.c.kek_id))).scalars())


async def test_rewrap_moves_every_data_key_to_the_current_kek_in_batches(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    order_ids = await delivered_many(delivery, smtp_inbox, 3)
    keks = rotated(delivery)
    progress: list[int] = []
    uow = delivery.runtime.units_of_work(DeliveryUnitOfWork)
    rewrap = Rewrap(unit_of_work=uow, keks=keks, batch_size=2)
    report = await rewrap(lambda done: progress.append(done.rewrapped))
    assert (report.rewrapped, report.failed, progress) == (3, [], [2, 3])
    assert await kek_ids(delivery) == {"k2"}
    assert (await rewrap()).rewrapped == 0
    only_new = KeyEncryptionKeys("k2", {"k2": keks.keys["k2"]})
    links = reveal_links(delivery.settings)
    store = object_store(delivery.settings)
    reveal = RevealKeys(unit_of_work=uow, store=store, links=links, keks=only_new)
    try:
        keys = (await reveal(links.issue(order_ids[0]), Visitor(None, None))).keys
    finally:
        await store.aclose()
    assert keys[0].value == TEXT_KEY
    async with delivery.runtime.engine.connect() as connection:
        audit = (await connection.execute(select(key_events.c.action, key_events.c.detail))).all()
    assert [tuple(row) for row in audit] == [("rewrapped", "k1 -> k2")] * 3


async def test_a_data_key_that_will_not_unwrap_is_reported_and_left_alone(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    [order_id] = await delivered_many(delivery, smtp_inbox, 1)
    wrong = KeyEncryptionKeys("k2", {"k1": os.urandom(32), "k2": os.urandom(32)})
    report = await Rewrap(
        unit_of_work=delivery.runtime.units_of_work(DeliveryUnitOfWork), keks=wrong
    )()
    assert (report.rewrapped, report.failed) == (0, [order_id])
    assert await kek_ids(delivery) == {"k1"}


async def test_the_rewrap_command_rotates_beside_the_running_service(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    await delivered_many(delivery, smtp_inbox, 2)
    keks = rotated(delivery)
    setting = ",".join(f"{kid}:{base64.b64encode(key).decode()}" for kid, key in keks.keys.items())
    stdout, stderr = await run_command(
        delivery.settings, "rewrap", "--batch-size", "1", kek_current_id="k2", keks=setting
    )
    lines = stdout.splitlines()
    assert lines[:2] == ["re-wrapped 1 data keys (0 failed)", "re-wrapped 2 data keys (0 failed)"]
    assert lines[-1] == "done: 2 data keys now under KEK 'k2'"
    assert await kek_ids(delivery) == {"k2"}
    assert base64.b64encode(keks.keys["k2"]).decode() not in stdout + stderr


async def test_two_rewrap_runs_at_once_rewrap_each_data_key_once(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    await delivered_many(delivery, smtp_inbox, 4)
    keks = rotated(delivery)
    runs = [
        Rewrap(
            unit_of_work=delivery.runtime.units_of_work(DeliveryUnitOfWork), keks=keks, batch_size=1
        )()
        for _ in range(2)
    ]
    reports = await asyncio.gather(*runs)
    assert sum(report.rewrapped for report in reports) == 4
    assert await kek_ids(delivery) == {"k2"}
    async with delivery.runtime.engine.connect() as connection:
        audit = (await connection.execute(select(key_events.c.order_id))).scalars().all()
    assert len(audit) == len(set(audit)) == 4
