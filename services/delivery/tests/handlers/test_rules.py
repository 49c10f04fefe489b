"""Delivery's business rules, on the in-memory unit of work (`fakes`): no database, no
bus, no S3, no SMTP. What PostgreSQL guarantees (locks, unique indexes, commits) is
tested on PostgreSQL by the other handler tests."""

import os
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import pytest
from delivery_fakes import FakeDeliveryWork, FakeStore
from delivery_support import (
    LINKS,
    PUBLIC_URL,
    TEXT_KEY,
    keys_delivered,
    order_delayed,
    refund_changed,
)

from bitloot_contracts.events import KeysRevoked, RefundClaimLinkRequested
from bitloot_delivery.domain.emails import EmailKind, EmailStatus
from bitloot_delivery.domain.links import LinkProblem, LinkRefused
from bitloot_delivery.domain.notices import DelayNotice
from bitloot_delivery.domain.rate_limits import Limit, RateLimited
from bitloot_delivery.domain.retention import KeysPurged
from bitloot_delivery.domain.revocation import OrderRefunded, RevokeRefused
from bitloot_delivery.domain.vault import KeyEncryptionKeys
from bitloot_delivery.handlers.delay_notice import QueueDelayNotice
from bitloot_delivery.handlers.links import (
    DeliveryNotFound,
    EmailFreshLink,
    FreshLinkLimits,
    IssueLink,
)
from bitloot_delivery.handlers.refund_notices import QueueClaimLink, QueueRefundNotice
from bitloot_delivery.handlers.resend_notice import NoSuchNotice, ResendNotice
from bitloot_delivery.handlers.reveal import RevealKeys, Visitor
from bitloot_delivery.handlers.revoke import RevokeKeys
from bitloot_delivery.handlers.store_keys import StoreKeys
from bitloot_runtime import sealing
from bitloot_runtime.errors import PermanentError

PRIVATE_KEY, PUBLIC_KEY = sealing.generate_key_pair()
KEKS = KeyEncryptionKeys("k1", {"k1": os.urandom(32)})
VISITOR = Visitor("203.0.113.7", "test/1")
PENDING = EmailStatus.PENDING


@pytest.fixture
def work() -> FakeDeliveryWork:
    return FakeDeliveryWork()


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


def store_keys(store: FakeStore) -> StoreKeys:
    private_keys = {"d1": sealing.load_private_key(PRIVATE_KEY)}
    return StoreKeys(store=store, private_keys=private_keys, keks=KEKS)


async def stored(work: FakeDeliveryWork, store: FakeStore) -> UUID:
    """An order whose keys.delivered was handled: its keys stored, its email queued."""
    event = keys_delivered(PUBLIC_KEY)
    await store_keys(store)(event, work)
    return event.order_id


def reveal(work: FakeDeliveryWork, store: FakeStore, keks: KeyEncryptionKeys = KEKS) -> RevealKeys:
    return RevealKeys(unit_of_work=lambda: work, store=store, links=LINKS, keks=keks)


async def test_keys_are_stored_encrypted_once_and_withdraw_a_pending_delay_notice(
    work: FakeDeliveryWork, store: FakeStore
) -> None:
    event = keys_delivered(PUBLIC_KEY)
    await QueueDelayNotice()(order_delayed(event.order_id), work)
    handler = store_keys(store)
    await handler(event, work)
    await handler(event, work)
    await QueueDelayNotice()(order_delayed(event.order_id), work)
    [ciphertext] = store.objects.values()
    assert TEXT_KEY.encode() not in ciphertext
    assert work.deliveries.keys[event.order_id][0].value == ""
    assert work.emails.of(event.order_id) == [
        (EmailKind.DELAYED, EmailStatus.SUPERSEDED),
        (EmailKind.DELIVERY, PENDING),
    ]


async def test_a_key_count_other_than_the_events_is_refused_for_good_and_stores_nothing(
    work: FakeDeliveryWork, store: FakeStore
) -> None:
    with pytest.raises(PermanentError) as refused:
        await store_keys(store)(keys_delivered(PUBLIC_KEY, key_count=3), work)
    assert refused.value.code == "key_count_mismatch"
    assert (work.deliveries.rows, store.objects) == ({}, {})


async def test_a_delay_notice_is_queued_once_to_the_customer_and_never_after_the_keys(
    work: FakeDeliveryWork, store: FakeStore
) -> None:
    event = order_delayed(is_preorder=True, release_date=date(2026, 12, 24))
    later = order_delayed(event.order_id, is_preorder=True, release_date=date(2027, 1, 15))
    for each in (event, later):
        await QueueDelayNotice()(each, work)
    await work.commit()
    [queued] = work.emails.rows
    assert (queued.kind, queued.to_address) == (EmailKind.DELAYED, "buyer@example.com")
    assert queued.notice == DelayNotice(is_preorder=True, release_date=date(2026, 12, 24))
    assert work.events == []  # a notice completes and fails nothing
    order_id = await stored(work, store)
    await QueueDelayNotice()(order_delayed(order_id, is_preorder=True), work)
    assert work.emails.of(order_id) == [(EmailKind.DELIVERY, PENDING)]


async def test_an_issued_link_reveals_the_keys_until_it_expires(
    work: FakeDeliveryWork, store: FakeStore
) -> None:
    order_id = await stored(work, store)
    issue = IssueLink(unit_of_work=lambda: work, links=LINKS, public_url=PUBLIC_URL)
    issued = await issue(order_id, "admin:ana", VISITOR)
    assert abs(issued.expires_at - datetime.now(UTC) - timedelta(minutes=15)) < timedelta(seconds=5)
    token = issued.url.removeprefix(f"{PUBLIC_URL}/keys/")
    revealed = await reveal(work, store)(token, VISITOR)
    assert revealed.keys[0].value == TEXT_KEY
    assert work.deliveries.reveals == [(order_id, "203.0.113.7", "test/1")]
    assert work.deliveries.actions(order_id) == ["link_issued"]
    assert work.deliveries.rows[order_id].viewed_at is not None
    expired = LINKS.issue(order_id, now=datetime.now(UTC) - timedelta(minutes=16))
    with pytest.raises(LinkRefused) as refused:
        await reveal(work, store)(expired, VISITOR)
    assert refused.value.problem is LinkProblem.EXPIRED


async def test_no_link_opens_keys_revoked_purged_or_never_stored(
    work: FakeDeliveryWork, store: FakeStore
) -> None:
    revoked, purged = await stored(work, store), await stored(work, store)
    await RevokeKeys(unit_of_work=lambda: work)(revoked, "admin:ana", None)
    await work.deliveries.mark_purged(purged)
    await work.commit()  # arranged as a sweep would leave it
    expired = LINKS.issue(revoked, now=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(OrderRefunded):
        await reveal(work, store)(expired, VISITOR)
    with pytest.raises(KeysPurged):
        await reveal(work, store)(LINKS.issue(purged), VISITOR)
    with pytest.raises(LinkRefused) as refused:
        await reveal(work, store)(LINKS.issue(uuid4()), VISITOR)
    assert refused.value.problem is LinkProblem.INVALID
    issue = IssueLink(unit_of_work=lambda: work, links=LINKS, public_url=PUBLIC_URL)
    for order_id, problem in ((revoked, OrderRefunded), (purged, KeysPurged)):
        with pytest.raises(problem):
            await issue(order_id, "customer", VISITOR)
    with pytest.raises(DeliveryNotFound):
        await issue(uuid4(), "customer", VISITOR)
    assert work.deliveries.reveals == []


async def test_fresh_links_are_rate_limited_and_a_refused_request_still_counts(
    work: FakeDeliveryWork, store: FakeStore
) -> None:
    order_id = await stored(work, store)
    hour = timedelta(hours=1)
    limits = FreshLinkLimits(Limit("ip", 3, hour), Limit("order", 2, hour))
    email = EmailFreshLink(unit_of_work=lambda: work, links=LINKS, limits=limits)
    expired = LINKS.issue(order_id, now=datetime.now(UTC) - hour)
    await email(expired, VISITOR)
    await email("not-a-token", VISITOR)
    await email(expired, VISITOR)
    with pytest.raises(RateLimited) as limited:
        await email(expired, VISITOR)
    assert limited.value.limit.name == "ip"
    assert (
        work.emails.of(order_id)
        == [(EmailKind.DELIVERY, PENDING)] + [(EmailKind.FRESH_LINK, PENDING)] * 2
    )
    assert work.deliveries.actions(order_id) == ["fresh_link_emailed"] * 2
    assert sorted(work.rate_limits.hits.values()) == [2, 4]  # the refused one counted


async def test_a_revoke_withdraws_the_key_emails_and_tells_payments_once(
    work: FakeDeliveryWork, store: FakeStore
) -> None:
    order_id, revealed = await stored(work, store), await stored(work, store)
    await reveal(work, store)(LINKS.issue(revealed), VISITOR)
    revoke = RevokeKeys(unit_of_work=lambda: work)
    done = await revoke(order_id, "admin:ana", "refunded")
    assert (done.order_id, done.key_count) == (order_id, 2)
    assert work.emails.of(order_id) == [(EmailKind.DELIVERY, EmailStatus.WITHDRAWN)]
    assert work.deliveries.actions(order_id) == ["revoked"]
    [event] = work.events
    assert isinstance(event, KeysRevoked)
    assert (event.order_id, event.revoked_by, event.note) == (order_id, "admin:ana", "refunded")
    for refused_order, code in ((order_id, "already_revoked"), (revealed, "keys_revealed")):
        with pytest.raises(RevokeRefused) as refused:
            await revoke(refused_order, "admin:ana", None)
        assert refused.value.code == code
    with pytest.raises(RevokeRefused) as refused:
        await revoke(uuid4(), "admin:ana", None)
    assert refused.value.code == "no_keys"
    assert len(work.events) == 1


async def test_a_sent_or_outside_refund_is_told_once_with_its_transaction_or_note(
    work: FakeDeliveryWork,
) -> None:
    order_id = uuid4()
    claimed = refund_changed(order_id, refund_id=43, status="claimed", previous_status="due")
    sent = refund_changed(order_id, refund_id=43, status="sent", transaction_id="0xfeed")
    outside = refund_changed(
        order_id, refund_id=44, status="refunded_outside", reason="paid_twice", note="By bank"
    )
    for event in (claimed, sent, sent, outside):
        await QueueRefundNotice()(event, work)
    assert work.emails.of(order_id) == [(EmailKind.REFUND_SENT, PENDING)] * 2
    by_chain, by_hand = (row.refund for row in work.emails.rows)
    assert by_chain is not None
    assert by_hand is not None
    assert (by_chain.refund_id, by_chain.transaction_id, by_chain.outside) == (43, "0xfeed", False)
    assert (by_chain.amount, by_chain.currency) == (Decimal("0.00123"), "btc")
    assert (by_hand.refund_id, by_hand.outside, by_hand.note) == (44, True, "By bank")


async def test_refund_emails_go_once_per_refund_and_claim_links_once_an_hour(
    work: FakeDeliveryWork,
) -> None:
    order_id = uuid4()
    for status in ("due", "due", "approved", "sent", "refunded_outside"):
        await QueueRefundNotice()(refund_changed(order_id, status=status), work)
    sent = [(EmailKind.REFUND_DUE, PENDING), (EmailKind.REFUND_SENT, PENDING)]
    assert work.emails.of(order_id) == sent
    ask = RefundClaimLinkRequested(
        order_id=order_id, refund_id=1, customer_email="buyer@example.com"
    )
    unknown = ask.model_copy(update={"refund_id": 2})
    for event in (ask, ask, unknown):
        await QueueClaimLink()(event, work)
    claim_links = [kind for kind, _ in work.emails.of(order_id) if kind is EmailKind.CLAIM_LINK]
    assert claim_links == [EmailKind.CLAIM_LINK]
    resend = ResendNotice(unit_of_work=lambda: work)
    await resend(order_id, EmailKind.REFUND_DUE, "admin:ana", 1)
    assert work.emails.rows[-1].resend_of == 1
    with pytest.raises(NoSuchNotice):
        await resend(order_id, EmailKind.DELAYED, "admin:ana")
