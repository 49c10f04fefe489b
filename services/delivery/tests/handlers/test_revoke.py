"""A reveal racing a revoke, in two concurrent transactions: never both succeed.

The reveal is held inside its transaction (after reading the delivery, while fetching
the ciphertext) as long as the test wants, which is exactly where a reveal that did not
take the order's lock would let a revoke slip through."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, field

import pytest
from delivery_support import Running, delivered

from bitloot_delivery.adapters.object_store import object_store
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


@asynccontextmanager
async def held_reveal(delivery: Running) -> AsyncIterator[tuple[RevealKeys, Held]]:
    """The reveal use case on the real object store, each `get` held until the test
    releases it; the store is closed after the block."""
    store, held = object_store(delivery.settings), Held()
    fetch = store.get

    async def get(key: str) -> bytes:
        held.entered.set()
        await held.release.wait()
        return await fetch(key)

    setattr(store, "get", get)  # noqa: B010 - this one instance, for this test
    async with aclosing(store):
        yield (
            RevealKeys(
                unit_of_work=delivery.runtime.units_of_work(DeliveryUnitOfWork),
                store=store,
                links=reveal_links(delivery.settings),
                keks=delivery.settings.key_encryption_keys(),
            ),
            held,
        )


async def test_a_reveal_racing_a_revoke_never_both_succeed(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    order_id, _ = await delivered(delivery, smtp_inbox)
    async with held_reveal(delivery) as (reveal, held):
        revoke = RevokeKeys(unit_of_work=reveal.unit_of_work)
        revealing = asyncio.create_task(reveal(reveal.links.issue(order_id), VISITOR))
        await asyncio.wait_for(held.entered.wait(), 5)
        revoking = asyncio.create_task(revoke(order_id, "admin:ana", None))
        await asyncio.sleep(0.5)  # the revoke runs as far as it can meanwhile
        held.release.set()
        outcomes = await asyncio.gather(revealing, revoking, return_exceptions=True)
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
    async with held_reveal(delivery) as (reveal, held):
        held.release.set()
        await RevokeKeys(unit_of_work=reveal.unit_of_work)(order_id, "admin:ana", "refunded")
        with pytest.raises(OrderRefunded):
            await reveal(reveal.links.issue(order_id), VISITOR)
    assert not held.entered.is_set()  # the ciphertext was not even fetched
