"""A reveal racing a revoke, in two concurrent transactions: never both succeed.

The reveal is held inside its transaction (after reading the delivery, while fetching
the ciphertext) as long as the test wants, which is exactly where a reveal that did not
take the order's lock would let a revoke slip through."""

import asyncio
from uuid import UUID

import aioboto3
import pytest
from delivery_support import Running, keys_delivered, publish

from bitloot_delivery.adapters.object_store import S3ObjectStore
from bitloot_delivery.bootstrap import reveal_links
from bitloot_delivery.domain.revocation import OrderRefunded, RevokeRefused
from bitloot_delivery.handlers.reveal import RevealKeys, Visitor
from bitloot_delivery.handlers.revoke import RevokeKeys
from bitloot_testing.smtp import SmtpServer

VISITOR = Visitor("203.0.113.7", "test/1")


class HeldStore(S3ObjectStore):
    """The object store, with each `get` held until `release` is set."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def get(self, key: str) -> bytes:
        self.entered.set()
        await self.release.wait()
        return await super().get(key)


def held_store(delivery: Running) -> HeldStore:
    settings = delivery.settings
    session = aioboto3.Session(
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=settings.s3_secret_access_key.get_secret_value(),
        region_name=settings.s3_region,
    )
    return HeldStore(
        session,
        bucket=settings.s3_bucket,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
    )


async def stored(delivery: Running, smtp_inbox: SmtpServer) -> UUID:
    event = keys_delivered(delivery.public_key)
    await publish(delivery.runtime, event)
    await smtp_inbox.wait_for(1)
    return event.order_id


async def test_a_reveal_racing_a_revoke_never_both_succeed(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    order_id = await stored(delivery, smtp_inbox)
    store = held_store(delivery)
    uow = delivery.runtime.unit_of_work
    links = reveal_links(delivery.settings)
    reveal = RevealKeys(
        unit_of_work=uow, store=store, links=links, keks=delivery.settings.key_encryption_keys()
    )
    revoke = RevokeKeys(unit_of_work=uow)
    try:
        revealing = asyncio.create_task(reveal(links.issue(order_id), VISITOR))
        await asyncio.wait_for(store.entered.wait(), 5)
        revoking = asyncio.create_task(revoke(order_id, "admin:ana", None))
        await asyncio.sleep(0.5)  # the revoke runs as far as it can meanwhile
        store.release.set()
        outcomes = await asyncio.gather(revealing, revoking, return_exceptions=True)
    finally:
        await store.aclose()
    keys, revoked = outcomes
    # Both won would be revealed keys of a refunded order: the reveal got in first, so
    # the revoke must see it and refuse.
    assert isinstance(keys, list)
    assert len(keys) == 2
    assert isinstance(revoked, RevokeRefused)
    assert revoked.code == "keys_revealed"


async def test_a_reveal_after_a_revoke_is_refused(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    order_id = await stored(delivery, smtp_inbox)
    store = held_store(delivery)
    store.release.set()
    links = reveal_links(delivery.settings)
    uow = delivery.runtime.unit_of_work
    reveal = RevealKeys(
        unit_of_work=uow, store=store, links=links, keks=delivery.settings.key_encryption_keys()
    )
    try:
        await RevokeKeys(unit_of_work=uow)(order_id, "admin:ana", "refunded")
        with pytest.raises(OrderRefunded):
            await reveal(links.issue(order_id), VISITOR)
    finally:
        await store.aclose()
    assert not store.entered.is_set()  # the ciphertext was not even fetched
