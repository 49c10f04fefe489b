"""The gateway's use cases on the in-memory repositories and the Kinguin sandbox: what
each one stores, emits and refuses (the real-database tests prove the guarantees)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from kinguin_gateway_fakes import FakeGatewayWork
from kinguin_gateway_support import (
    API_KEY,
    COUNTER_STRIKE,
    GIFT_CARD,
    Kinguin,
    fulfilled_order,
    request,
)

from bitloot_contracts.events import (
    KeysRequested,
    KeysRevoked,
    KinguinWebhook,
    ProductAvailabilityChanged,
    ProductListed,
    ReservationCreated,
    ReservationFailed,
    ReservationPoll,
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
from bitloot_kinguin_gateway.handlers.key_returns import ReturnKeys
from bitloot_kinguin_gateway.handlers.keys import FetchKeys, KeysIncomplete
from bitloot_kinguin_gateway.handlers.polling import Poll
from bitloot_kinguin_gateway.handlers.reservations import Reserve
from bitloot_kinguin_gateway.handlers.webhooks import ORDER_STATUS, ApplyOrderStatus
from bitloot_runtime.errors import TransientError

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
    assert len(kinguin.orders) == 1
    assert topics(work) == ["reservation.created"] * 2
    told = [e for e in work.events if isinstance(e, ReservationCreated)]
    assert {e.kinguin_order_id for e in told} == {reservation.kinguin_order_id}


@pytest.mark.parametrize(("send_within", "units"), [(2.0, 1), (0.0, 2)])
async def test_a_purchase_leaves_under_the_stamp_of_its_reservation_unless_its_slot_was_late(
    kinguin: Kinguin, client: KinguinClient, send_within: float, units: int
) -> None:
    """A new reservation is committed stamped: an order bought at once commits nothing more
    before its POST; one whose slot came later than `send_within` commits a stamp of its
    own first."""
    work, opened = FakeGatewayWork(), []

    def unit_of_work() -> FakeGatewayWork:
        opened.append(work)
        return work

    order_id = uuid4()
    await Reserve(client, unit_of_work, send_within=send_within)(request(order_id), work)
    assert (kinguin.calls("POST /v2/order"), len(opened)) == (1, units)
    assert await work.reservations.in_flight(str(order_id), 60.0) > 0


async def test_a_handler_failing_before_its_purchase_left_clears_its_stamp(
    kinguin: Kinguin, http: httpx.AsyncClient
) -> None:
    """Its redelivery then looks the order up at once instead of waiting out a purchase
    that never left; a handler failing after its POST left keeps the stamp."""
    work, before, after = FakeGatewayWork(), uuid4(), uuid4()
    client = KinguinClient(kinguin.url, API_KEY, http, backoff=0.01, deadline=0.5)
    reserve = Reserve(client, lambda: work)
    kinguin.sandbox.faults.update({"fail_next": 10})  # the live price, asked before buying
    with pytest.raises(TransientError):
        await reserve(request(before), work)
    kinguin.sandbox.faults.update({"fail_next": 0, "hold_order_answer_seconds": 2})
    with pytest.raises(TransientError):  # the POST left, and timed out
        await reserve(request(after), work)
    assert kinguin.calls("POST /v2/order") == 1
    assert await work.reservations.in_flight(str(before), 60.0) == 0
    assert await work.reservations.in_flight(str(after), 60.0) > 0


async def test_the_checked_live_price_is_what_kinguin_is_offered(
    kinguin: Kinguin, client: KinguinClient
) -> None:
    work = FakeGatewayWork()
    await Reserve(client, lambda: work)(request(uuid4(), maximum="9.00"), work)
    [order] = kinguin.orders
    assert [line.request_price for line in order.lines] == [Decimal("2.50")]
    assert kinguin.calls(f"GET /v2/products/{COUNTER_STRIKE}") == 1


async def test_a_price_above_the_maximum_fails_the_reservation_and_buys_nothing(
    kinguin: Kinguin, client: KinguinClient
) -> None:
    work, order_id = FakeGatewayWork(), uuid4()
    await Reserve(client, lambda: work)(request(order_id, maximum="2.49"), work)
    await work.commit()
    assert work.reservations.rows[order_id].state == "failed"
    assert (topics(work), kinguin.calls("POST /v2/order")) == (["reservation.failed"], 0)
    [failed] = work.events
    assert isinstance(failed, ReservationFailed)
    assert failed.code == "price_above_maximum"
    assert "2.49" in failed.reason
    assert kinguin.orders == []


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


async def reserve_and_commit(client: KinguinClient, work: FakeGatewayWork, order_id: UUID) -> None:
    await Reserve(client, lambda: work)(request(order_id), work)
    await work.commit()


def created_ids(work: FakeGatewayWork) -> list[str]:
    return [e.kinguin_order_id for e in work.events if isinstance(e, ReservationCreated)]


def attempts(work: FakeGatewayWork, order_id: UUID) -> list[tuple[str, str | None]]:
    return [(a.external_id, a.kinguin_status) for a in work.reservations.tried[order_id]]


def placed(work: FakeGatewayWork, order_id: UUID) -> tuple[str, int, str | None]:
    row = work.reservations.rows[order_id]
    return row.state, row.attempt, row.kinguin_order_id


async def refused_then_restocked(
    kinguin: Kinguin, client: KinguinClient, work: FakeGatewayWork, order_id: UUID
) -> None:
    """Kinguin refuses the order (out of stock): the reservation fails, nothing bought;
    then Kinguin sells the product again."""
    kinguin.sandbox.faults.update({"out_of_stock": [COUNTER_STRIKE]})
    await reserve_and_commit(client, work, order_id)
    kinguin.sandbox.faults.update({"out_of_stock": []})


async def test_a_retry_after_out_of_stock_buys_once_under_a_new_external_id(
    kinguin: Kinguin, client: KinguinClient
) -> None:
    work, order_id = FakeGatewayWork(), uuid4()
    await refused_then_restocked(kinguin, client, work, order_id)
    await reserve_and_commit(client, work, order_id)
    second = f"{order_id}-2"
    assert kinguin.live(order_id) == [second]
    [bought] = kinguin.orders
    assert created_ids(work) == [bought.order_id]
    assert placed(work, order_id) == ("placed", 2, bought.order_id)
    assert attempts(work, order_id) == [(str(order_id), None), (second, "processing")]


async def test_a_retry_adopts_a_live_order_found_under_an_earlier_external_id(
    kinguin: Kinguin, client: KinguinClient
) -> None:
    work, order_id = FakeGatewayWork(), uuid4()
    await refused_then_restocked(kinguin, client, work, order_id)
    # Someone bought it at Kinguin under our order id meanwhile (a late answer).
    bought = kinguin.place(order_id, [(COUNTER_STRIKE, 2)])
    await reserve_and_commit(client, work, order_id)
    assert created_ids(work) == [bought.order_id]
    assert kinguin.live(order_id) == [str(order_id)]
    assert kinguin.calls("POST /v2/order") == 1  # the refused one; the retry bought nothing
    assert placed(work, order_id) == ("placed", 1, bought.order_id)


async def test_a_retry_after_insufficient_balance_buys_once_the_account_is_topped_up(
    kinguin: Kinguin, client: KinguinClient
) -> None:
    work, order_id = FakeGatewayWork(), uuid4()
    kinguin.sandbox.store.balance = Decimal("1.00")
    await reserve_and_commit(client, work, order_id)
    kinguin.sandbox.store.balance = Decimal("500.00")
    await reserve_and_commit(client, work, order_id)
    [failed] = [e for e in work.events if isinstance(e, ReservationFailed)]
    assert failed.code == "insufficient_balance"
    assert kinguin.live(order_id) == [f"{order_id}-2"]
    assert created_ids(work) == [kinguin.orders[0].order_id]
    assert kinguin.sandbox.store.balance == Decimal("495.00")


async def test_a_poll_reports_a_completion_whose_webhook_was_lost_and_only_once(
    kinguin: Kinguin, client: KinguinClient
) -> None:
    work, order_id = FakeGatewayWork(), uuid4()
    await reserve_and_commit(client, work, order_id)
    [kinguin_order_id] = created_ids(work)
    # The sandbox completes the order; it has no webhook URL, so nobody is told.
    await kinguin.sandbox.idle()
    for attempt in (1, 2):
        await Poll(client)(ReservationPoll(order_id=order_id, attempt=attempt), work)
        await work.commit()
    [webhook] = [e for e in work.events if isinstance(e, KinguinWebhook)]
    assert (webhook.status, webhook.kinguin_order_id) == ("completed", kinguin_order_id)
    assert kinguin.calls(f"GET /v1/order/{kinguin_order_id}") == 2


async def test_a_poll_before_kinguin_has_the_order_reports_nothing(
    kinguin: Kinguin, client: KinguinClient
) -> None:
    work, order_id = FakeGatewayWork(), uuid4()
    await work.reservations.open(order_id, [{"qty": 1}])
    await Poll(client)(ReservationPoll(order_id=order_id, attempt=1), work)
    await work.commit()
    assert work.events == []
    assert kinguin.calls("GET /v1/order") == 1


async def return_keys(client: KinguinClient, work: FakeGatewayWork, order_id: UUID) -> None:
    revoked = KeysRevoked(order_id=order_id, key_count=2, revoked_by="admin@bitloot", note="a")
    await ReturnKeys(client, lambda: work)(revoked, work)
    await work.commit()


async def test_kinguins_refusal_is_recorded_with_its_reason_and_not_retried(
    kinguin: Kinguin, client: KinguinClient
) -> None:
    work = FakeGatewayWork()
    order_id, order = await fulfilled_order(kinguin, work.reservations)
    # Kinguin delivered the keys over 24 hours ago; our records (a late webhook) say less.
    assert order.delivered_at is not None
    order.delivered_at -= timedelta(hours=25)
    for _ in range(2):
        await return_keys(client, work, order_id)
    assert kinguin.calls(f"POST /v2/order/{order.order_id}/keys/return") == 1
    [seen] = work.key_returns.rows.values()
    assert seen.state == "refused"
    assert "no_keys_to_return" in str(seen.reason)
    assert "24 hours" in str(seen.reason)
    assert [slot.status for slot in order.slots] == ["DELIVERED", "DELIVERED"]


@pytest.mark.parametrize(
    ("preorder", "completed", "reason"),
    [(True, timedelta(0), "preorder"), (False, timedelta(hours=24, minutes=1), "window_passed")],
)
async def test_a_preorder_or_keys_delivered_over_24_hours_ago_are_never_asked_for(
    kinguin: Kinguin, client: KinguinClient, preorder: bool, completed: timedelta, reason: str
) -> None:
    work, at = FakeGatewayWork(), datetime.now(UTC) - completed
    product, qty = (GIFT_CARD, 1) if preorder else (COUNTER_STRIKE, 2)
    order_id, order = await fulfilled_order(
        kinguin, work.reservations, product=product, qty=qty, completed_at=at, preorder=preorder
    )
    await return_keys(client, work, order_id)
    assert kinguin.calls(f"POST /v2/order/{order.order_id}/keys/return") == 0
    [seen] = work.key_returns.rows.values()
    assert (seen.state, seen.reason) == ("not_returnable", reason)


async def test_a_poll_finding_kinguins_refunded_after_our_return_does_not_report_it(
    kinguin: Kinguin, client: KinguinClient
) -> None:
    work = FakeGatewayWork()
    order_id, order = await fulfilled_order(kinguin, work.reservations)
    await return_keys(client, work, order_id)
    order.status = "refunded"  # Kinguin closes the order it refunded.
    await Poll(client)(ReservationPoll(order_id=order_id, attempt=1), work)
    await work.commit()
    assert [e for e in work.events if isinstance(e, KinguinWebhook)] == []
    assert work.reservations.rows[order_id].kinguin_status == "refunded"
