"""The gateway's use cases on the in-memory repositories and the Kinguin sandbox: what
each one stores, emits and refuses (the real-database tests prove the guarantees)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from kinguin_gateway_fakes import FakeGatewayWork
from kinguin_gateway_support import COUNTER_STRIKE, Kinguin, request

from bitloot_contracts.events import (
    KeysRequested,
    KinguinWebhook,
    ProductAvailabilityChanged,
    ProductListed,
    ReservationCreated,
)
from bitloot_kinguin_gateway.adapters.kinguin import KinguinClient
from bitloot_kinguin_gateway.domain.product import Availability
from bitloot_kinguin_gateway.domain.webhook import Notification
from bitloot_kinguin_gateway.handlers.catalog import (
    PRODUCT_UPDATE,
    ApplyListing,
    ApplyProductUpdate,
    ProductUpdate,
)
from bitloot_kinguin_gateway.handlers.keys import FetchKeys, KeysIncomplete
from bitloot_kinguin_gateway.handlers.reservations import Reserve
from bitloot_kinguin_gateway.handlers.webhooks import ORDER_STATUS, ApplyOrderStatus

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def topics(work: FakeGatewayWork) -> list[str]:
    return [event.topic for event in work.events]


async def test_a_request_buys_once_and_a_repeated_one_announces_the_same_order(
    kinguin: Kinguin, client: KinguinClient
) -> None:
    work, order_id = FakeGatewayWork(), uuid4()
    reserve = Reserve(client, lambda: work)
    for _ in range(2):
        await reserve(request(order_id), work)
        await work.commit()
    reservation = work.reservations.rows[order_id]
    assert (reservation.state, kinguin.calls("POST /v2/order")) == ("placed", 1)
    assert topics(work) == ["reservation.created"] * 2
    told = [e for e in work.events if isinstance(e, ReservationCreated)]
    assert {e.kinguin_order_id for e in told} == {reservation.kinguin_order_id}


async def test_a_price_above_the_maximum_fails_the_reservation_and_buys_nothing(
    kinguin: Kinguin, client: KinguinClient
) -> None:
    work, order_id = FakeGatewayWork(), uuid4()
    await Reserve(client, lambda: work)(request(order_id, maximum="0.01"), work)
    await work.commit()
    assert work.reservations.rows[order_id].state == "failed"
    assert (topics(work), kinguin.calls("POST /v2/order")) == (["reservation.failed"], 0)


async def test_a_cancel_webhook_is_applied_once_and_older_or_unknown_news_is_not(
    client: KinguinClient,
) -> None:
    work, order_id = FakeGatewayWork(), uuid4()
    await Reserve(client, lambda: work)(request(order_id), work)
    ours = work.reservations.rows[order_id].kinguin_order_id
    apply = ApplyOrderStatus()

    async def notify(kinguin_order_id: str | None, status: str, at: datetime) -> bool:
        external = str(order_id) if kinguin_order_id == ours else "theirs"
        news = Notification(ORDER_STATUS, kinguin_order_id, external, status, at)
        duplicate = await apply(news, b"{}", {}, work)
        await work.commit()
        return duplicate

    assert not await notify(ours, "canceled", T0)
    assert await notify(ours, "canceled", T0)  # a copy
    assert not await notify(ours, "processing", T0 - timedelta(seconds=1))
    assert not await notify("K-unknown", "completed", T0)
    told = [e for e in work.events if isinstance(e, KinguinWebhook)]
    assert [(e.kinguin_order_id, e.status) for e in told] == [(ours, "canceled")]
    assert work.reservations.rows[order_id].kinguin_status == "canceled"
    notes = [row.note for row in work.webhooks.rows]
    assert notes == [None, "duplicate", "stale", "unknown_order"]


async def test_an_out_of_stock_update_of_a_watched_product_tells_payments_once() -> None:
    work = FakeGatewayWork()
    await ApplyListing()(ProductListed(kinguin_product_id=COUNTER_STRIKE, active=True), work)
    known = Availability(5, Decimal("2.50"), is_preorder=False, release_date=None)
    await work.products.record(COUNTER_STRIKE, known, T0, synced=True)
    update = ApplyProductUpdate()
    await update(ProductUpdate(COUNTER_STRIKE, 0, T0 + timedelta(seconds=1)), b"{}", {}, work)
    await update(ProductUpdate(COUNTER_STRIKE, 7, T0), b"{}", {}, work)  # stale
    await work.commit()
    [changed] = work.events
    assert isinstance(changed, ProductAvailabilityChanged)
    assert changed.qty == 0
    assert [(r.event_name, r.applied, r.note) for r in work.webhooks.rows] == [
        (PRODUCT_UPDATE, True, None),
        (PRODUCT_UPDATE, False, "stale"),
    ]


async def test_keys_go_to_delivery_only_once_kinguin_issued_all_of_them(
    kinguin: Kinguin, client: KinguinClient
) -> None:
    work, order_id = FakeGatewayWork(), uuid4()
    order = kinguin.place(order_id, [(COUNTER_STRIKE, 2)])
    await kinguin.sandbox.idle()
    await work.reservations.open(order_id, [{"kinguin_product_id": COUNTER_STRIKE, "qty": 2}])
    await work.reservations.mark_placed(order_id, order.order_id, "completed")
    fetch = FetchKeys(client, X25519PrivateKey.generate().public_key(), "d1")
    held_back = order.keys.pop()
    keys = KeysRequested(
        order_id=order_id, kinguin_order_id=order.order_id, customer_email="b@x.io"
    )
    with pytest.raises(KeysIncomplete):
        await fetch(keys, work)
    assert (work.reservations.rows[order_id].keys_count, work._pending) == (None, [])
    order.keys.append(held_back)
    await fetch(keys, work)
    await work.commit()
    assert (topics(work), work.reservations.rows[order_id].keys_count) == (["keys.delivered"], 2)
