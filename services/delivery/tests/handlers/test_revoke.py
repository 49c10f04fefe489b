"""A reveal racing a revoke, in two concurrent transactions: never both succeed.

The reveal is held inside its transaction (after reading the delivery, while fetching
the ciphertext) as long as the test wants, which is exactly where a reveal that did not
take the order's lock would let a revoke slip through."""

import asyncio
from dataclasses import dataclass, field

import pytest
from delivery_support import Running, delivered

from bitloot_delivery.adapters.object_store import S3ObjectStore, object_store
from bitloot_delivery.adapters.unit_of_work import DeliveryUnitOfWork
from bitloot_delivery.bootstrap import reveal_links
from bitloot_delivery.domain.revocation import OrderRefunded, RevokeRefused
from bitloot_delivery.handlers.reveal import Revealed, RevealKeys, Visitor
from bitloot_delivery.handlers.revoke import RevokeKeys
from bitloot_testing.smtp import SmtpServer

VISITOR = Visitor("203.0.113.7", "test/1")


@dataclass
class Held:
    """Gates on the store's `get`: `entered` once a reveal fetches the ciphertext, which
    waits until `release` is set."""

    entered: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)


def held_store(delivery: Running) -> tuple[S3ObjectStore, Held]:
    """The real object store, each `get` held until the test releases it."""
    store, held = object_store(delivery.settings), Held()
    fetch = store.get

    async def get(key: str) -> bytes:
        held.entered.set()
        await held.release.wait()
        return await fetch(key)

    setattr(store, "get", get)  # noqa: B010 - this one instance, for this test
    return store, held


async def test_a_reveal_racing_a_revoke_never_both_succeed(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    order_id, _ = await delivered(delivery, smtp_inbox)
    store, held = held_store(delivery)
    uow = delivery.runtime.units_of_work(DeliveryUnitOfWork)
    links = reveal_links(delivery.settings)
    reveal = RevealKeys(
        unit_of_work=uow, store=store, links=links, keks=delivery.settings.key_encryption_keys()
    )
    revoke = RevokeKeys(unit_of_work=uow)
    try:
        revealing = asyncio.create_task(reveal(links.issue(order_id), VISITOR))
        await asyncio.wait_for(held.entered.wait(), 5)
        revoking = asyncio.create_task(revoke(order_id, "admin:ana", None))
        await asyncio.sleep(0.5)  # the revoke runs as far as it can meanwhile
        held.release.set()
        outcomes = await asyncio.gather(revealing, revoking, return_exceptions=True)
    finally:
        await store.aclose()
    revealed, revoked = outcomes
    assert isinstance(revealed, Revealed)
    keys = revealed.keys
    # Both won would be revealed keys of a refunded order: the reveal got in first, so
    # the revoke must see it and refuse.
    assert isinstance(keys, list)
    assert len(keys) == 2
    assert isinstance(revoked, RevokeRefused)
    assert revoked.code == "keys_revealed"


async def test_a_reveal_after_a_revoke_is_refused(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    order_id, _ = await delivered(delivery, smtp_inbox)
    store, held = held_store(delivery)
    held.release.set()
    links = reveal_links(delivery.settings)
    uow = delivery.runtime.units_of_work(DeliveryUnitOfWork)
    reveal = RevealKeys(
        unit_of_work=uow, store=store, links=links, keks=delivery.settings.key_encryption_keys()
    )
    try:
        await RevokeKeys(unit_of_work=uow)(order_id, "admin:ana", "refunded")
        with pytest.raises(OrderRefunded):
            await reveal(links.issue(order_id), VISITOR)
    finally:
        await store.aclose()
    assert not held.entered.is_set()  # the ciphertext was not even fetched
