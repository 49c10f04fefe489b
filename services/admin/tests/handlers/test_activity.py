"""The admin's projection of a refund's story, and the refund view that reads it back,
on the in-memory repositories (the real broker's redeliveries: test_projection.py)."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import httpx
import pytest
from admin_fakes import FakeAdminWork
from admin_support import refund_changed

from bitloot_admin.adapters.upstream import SERVICES, UpstreamClient
from bitloot_admin.handlers.projection import ProjectActivity
from bitloot_admin.handlers.refunds import ShowRefund
from bitloot_contracts.events import KeysRevoked, RefundStatusChanged

ORDER = uuid4()
AT = datetime(2026, 3, 1, 12, tzinfo=UTC)


def refund_answer(request: httpx.Request) -> httpx.Response:
    if request.url.path != "/internal/refunds/7":
        return httpx.Response(404, json={"error": "not_found"})
    refund = {"id": 7, "order_id": str(ORDER), "status": "approved", "reason": "unrevealed"}
    return httpx.Response(200, json={**refund, "amount": "9.99", "currency": "EUR"})


@pytest.fixture
async def payments() -> AsyncIterator[UpstreamClient]:
    urls = {service: f"http://{service}" for service in SERVICES}
    upstream = UpstreamClient(urls, "token", 2.0, httpx.MockTransport(refund_answer))
    await upstream.start()
    yield upstream
    await upstream.close()


def status_changed(status: str, minutes: int) -> RefundStatusChanged:
    at = AT + timedelta(minutes=minutes)
    return refund_changed(ORDER, status, amount=Decimal("9.99"), occurred_at=at)


async def test_each_event_of_a_refund_story_is_projected_once_however_often_told() -> None:
    db, project = FakeAdminWork(), ProjectActivity()
    due = status_changed("due", 0)
    revoked = KeysRevoked(order_id=ORDER, key_count=1, revoked_by="admin:alice", occurred_at=AT)
    for event in (due, revoked, due):
        async with db:
            await project(event, db)
            await db.commit()
    rows = await db.activity.of_order(ORDER)
    assert sorted((row.topic, row.status) for row in rows) == [
        ("keys.revoked", "keys_revoked"),
        ("refund.status_changed", "refund_due"),
    ]


async def test_a_projection_not_committed_is_not_kept() -> None:
    db = FakeAdminWork()
    async with db:
        await ProjectActivity()(status_changed("due", 0), db)
    assert await db.activity.of_order(ORDER) == []


async def test_the_refund_view_tells_the_refund_story_oldest_first(
    payments: UpstreamClient,
) -> None:
    db = FakeAdminWork()
    for event in (status_changed("approved", 5), status_changed("due", 0)):
        async with db:
            await ProjectActivity()(event, db)
            await db.commit()
    view = await ShowRefund(payments, db.work)(7)
    assert view.refund is not None
    assert view.refund.amount == Decimal("9.99")
    assert [happened.at for happened in view.events] == [AT, AT + timedelta(minutes=5)]
    assert view.partial == []
