"""The Kinguin client against the Kinguin sandbox, served for real."""

import base64
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime

import httpx
import pytest
from kinguin_gateway_support import (
    API_KEY,
    COUNTER_STRIKE,
    GIFT_CARD,
    HOLLOW_KNIGHT,
    MINECRAFT,
    Kinguin,
)

from bitloot_kinguin_gateway.adapters.kinguin import KinguinClient, KinguinProduct
from bitloot_kinguin_gateway.adapters.kinguin_errors import (
    MAX_RETRY_AFTER,
    KinguinAccessDenied,
    KinguinBusy,
    KinguinRefused,
    retry_after,
)
from bitloot_kinguin_gateway.adapters.rate_limit import Gcra, LocalLimiter
from bitloot_runtime.errors import TransientError
from bitloot_runtime.metrics import RuntimeMetrics
from bitloot_runtime.outbound import MeteredTransport


def cs(qty: int = 1, price: str = "2.50") -> list[KinguinProduct]:
    return [KinguinProduct(COUNTER_STRIKE, qty, Decimal(price))]


async def test_a_products_live_price_is_read_exactly(client: KinguinClient) -> None:
    assert await client.product_price(COUNTER_STRIKE) == Decimal("2.5")
    assert await client.product_price(MINECRAFT) == Decimal("19.99")


async def test_a_placed_order_is_found_again_by_our_external_id(client: KinguinClient) -> None:
    placed = await client.place_order("order-1", cs(2))
    found = await client.find_by_external_id("order-1")
    assert found is not None
    assert (found.order_id, found.status) == (placed.order_id, "processing")
    assert await client.find_by_external_id("order-2") is None
    assert (await client.get_order(placed.order_id)).external_id == "order-1"


async def test_keys_are_read_page_by_page_until_a_short_page(
    client: KinguinClient, kinguin: Kinguin
) -> None:
    products = [(COUNTER_STRIKE, 9), (MINECRAFT, 9), (GIFT_CARD, 9), (HOLLOW_KNIGHT, 3)]
    order = await client.place_order(
        "order-1", [KinguinProduct(p, qty, Decimal(100)) for p, qty in products]
    )
    await kinguin.sandbox.idle()
    keys = await client.get_keys(order.order_id)
    issued = kinguin.sandbox.store.orders[order.order_id].keys
    assert [(k.serial, k.type) for k in keys] == [(k.serial, k.type) for k in issued]
    assert len(keys) == 30
    assert kinguin.calls(f"GET /v2/order/{order.order_id}/keys") == 2


async def test_a_429_is_retried_after_the_delay_kinguin_asks_for(
    client: KinguinClient, kinguin: Kinguin
) -> None:
    kinguin.sandbox.faults.update({"rate_limit_next": 1, "fail_next": 1})
    assert await client.find_by_external_id("order-1") is None
    assert kinguin.calls("GET /v1/order") == 3


async def test_kinguin_still_failing_after_a_few_attempts_is_a_transient_error(
    client: KinguinClient, kinguin: Kinguin
) -> None:
    kinguin.sandbox.faults.update({"fail_next": 5})
    with pytest.raises(KinguinBusy):
        await client.find_by_external_id("order-1")
    assert kinguin.calls("GET /v1/order") == 3


async def test_a_5xx_on_placing_is_not_repeated_because_the_order_may_exist(
    client: KinguinClient, kinguin: Kinguin
) -> None:
    kinguin.sandbox.faults.update({"fail_next": 1})
    with pytest.raises(KinguinBusy):
        await client.place_order("order-1", cs())
    assert kinguin.calls("POST /v2/order") == 1


async def test_a_purchase_is_dropped_after_its_deadline_in_all_and_not_repeated(
    kinguin: Kinguin, http: httpx.AsyncClient
) -> None:
    """Its caller counts on it: no purchase of ours is under way past the deadline."""
    kinguin.sandbox.faults.update({"hold_order_answer_seconds": 3})
    client = KinguinClient(kinguin.url, API_KEY, http, deadline=0.5)
    with pytest.raises(TransientError, match="POST /v2/order failed"):
        await client.place_order("order-1", cs())
    assert kinguin.calls("POST /v2/order") == 1
    # Kinguin created it all the same: the caller must look it up, never buy again.
    assert [order.order_external_id for order in kinguin.orders] == ["order-1"]


async def test_nothing_is_sent_when_the_check_before_sending_fails(
    client: KinguinClient, kinguin: Kinguin
) -> None:
    async def lock_lost() -> None:
        raise TransientError("The order's lock was lost before buying.")

    with pytest.raises(TransientError, match="lock was lost"):
        await client.place_order("order-1", cs(), before_send=lock_lost)
    assert kinguin.calls("POST /v2/order") == 0
    assert kinguin.orders == []


async def test_a_429_on_placing_is_repeated_because_kinguin_refused_it_outright(
    client: KinguinClient, kinguin: Kinguin
) -> None:
    kinguin.sandbox.faults.update({"rate_limit_next": 1})
    placed = await client.place_order("order-1", cs())
    assert kinguin.calls("POST /v2/order") == 2
    assert [o.order_id for o in kinguin.orders] == [placed.order_id]


async def test_kinguin_refusing_an_order_is_a_permanent_refusal_named_after_its_kind(
    client: KinguinClient, kinguin: Kinguin
) -> None:
    kinguin.sandbox.faults.update({"out_of_stock": [MINECRAFT]})
    with pytest.raises(KinguinRefused) as out_of_stock:
        await client.place_order("order-1", [KinguinProduct(MINECRAFT, 1, Decimal(20))])
    assert out_of_stock.value.code == "product_unavailable"
    with pytest.raises(KinguinRefused) as too_cheap:
        await client.place_order("order-2", cs(price="2.49"))
    assert too_cheap.value.code == "product_unavailable"
    assert "price changed" in str(too_cheap.value)
    with pytest.raises(KinguinRefused) as unknown:
        await client.product_price("no-such-product")
    assert unknown.value.code == "kinguin_not_found"
    assert kinguin.orders == []


async def test_a_rejected_api_key_is_an_access_fault_never_an_order_refusal(
    kinguin: Kinguin, http: httpx.AsyncClient
) -> None:
    client = KinguinClient(kinguin.url, "revoked-api-key", http)
    with pytest.raises(KinguinAccessDenied) as denied:
        await client.place_order("order-1", cs())
    assert not isinstance(denied.value, KinguinRefused)
    assert denied.value.code == "kinguin_access_denied"
    assert "KINGUIN_GATEWAY_KINGUIN_API_KEY" in str(denied.value)
    assert kinguin.calls("POST /v2/order") == 1
    assert kinguin.orders == []


async def test_every_call_takes_a_token_from_the_rate_limiter(
    kinguin: Kinguin, http: httpx.AsyncClient
) -> None:
    waits: list[float] = []

    async def no_sleep(delay: float) -> None:
        waits.append(delay)

    frozen = LocalLimiter(Gcra(60, 1), clock=lambda: 0.0, sleep=no_sleep)
    client = KinguinClient(kinguin.url, API_KEY, http, limiter=frozen)
    await client.product_price(COUNTER_STRIKE)
    await client.product_price(COUNTER_STRIKE)
    assert waits == [1.0]


class Recorder:
    """A limiter that lets every call through and records what it is told."""

    def __init__(self) -> None:
        self.acquired = 0
        self.throttled_for: list[float] = []

    async def acquire(self) -> float:
        self.acquired += 1
        return 0.0

    async def throttled(self, delay: float) -> None:
        self.throttled_for.append(delay)


async def test_every_429_holds_the_shared_limiter_back_and_a_5xx_does_not(
    kinguin: Kinguin, http: httpx.AsyncClient
) -> None:
    limiter = Recorder()
    client = KinguinClient(kinguin.url, API_KEY, http, limiter=limiter, backoff=0.01)
    kinguin.sandbox.faults.update({"rate_limit_next": 1, "fail_next": 1})
    assert await client.find_by_external_id("order-1") is None
    assert (limiter.acquired, limiter.throttled_for) == (3, [1.0])
    kinguin.sandbox.faults.update({"rate_limit_next": 3})
    with pytest.raises(KinguinBusy):
        await client.find_by_external_id("order-1")
    # The last attempt's 429 too: another replica's next call must wait as well.
    assert limiter.throttled_for == [1.0] * 4


def answer(retry: str) -> httpx.Response:
    return httpx.Response(429, headers={"Retry-After": retry})


def test_retry_after_is_read_as_seconds_or_as_a_date_and_capped() -> None:
    in_twelve_seconds = format_datetime(datetime.now(UTC) + timedelta(seconds=12), usegmt=True)
    assert retry_after(answer("3")) == 3.0
    assert 5.0 < (retry_after(answer(in_twelve_seconds)) or 0) <= 12.0
    assert retry_after(answer("3600")) == MAX_RETRY_AFTER
    assert retry_after(answer("soon")) is None
    assert retry_after(httpx.Response(429)) is None


async def test_a_product_is_read_by_its_string_id_from_v2(
    client: KinguinClient, kinguin: Kinguin
) -> None:
    product = await client.product(HOLLOW_KNIGHT)

    assert (product.price, product.qty, product.is_preorder) == (Decimal("4.99"), 3, False)
    assert kinguin.calls(f"GET /v2/products/{HOLLOW_KNIGHT}") == 1


async def test_the_balance_is_read_in_eur_and_falls_as_orders_are_paid(
    client: KinguinClient,
) -> None:
    before = await client.balance()
    await client.place_order("order-balance", cs(2))

    assert await client.balance() == before - Decimal("5.00")


async def test_an_order_is_read_as_the_order_object_documents_it_without_updated_at(
    client: KinguinClient, kinguin: Kinguin
) -> None:
    placed = await client.place_order("order-read", cs(2))
    await kinguin.sandbox.idle()

    order = await client.get_order(placed.order_id)
    keys = await client.get_keys(placed.order_id)

    assert (order.status, order.updated_at, order.created_at is not None) == (
        "completed",
        None,
        True,
    )
    assert (order.total_price, order.payment_price) == (Decimal("5.0"), Decimal("5.0"))
    assert (order.is_preorder, order.preorder_release_date) == (False, None)
    [line] = order.lines
    assert (line.product_id, line.qty, line.price, line.kinguin_id) == (
        COUNTER_STRIKE,
        2,
        Decimal("2.5"),
        1949,
    )
    assert [(k.id, k.status) for k in line.keys] == [(k.id, "DELIVERED") for k in keys]
    assert all(k.id for k in keys)


async def test_a_preorder_is_read_with_its_release_date_and_has_no_keys_until_released(
    client: KinguinClient, kinguin: Kinguin
) -> None:
    store = kinguin.sandbox.store
    store.products[MINECRAFT] = replace(
        store.products[MINECRAFT], is_preorder=True, release_date="2031-03-01"
    )
    product = await client.product(MINECRAFT)
    placed = await client.place_order("order-pre", [KinguinProduct(MINECRAFT, 1, Decimal(20))])
    await kinguin.sandbox.idle()

    waiting = await client.get_order(placed.order_id)
    no_keys = await client.get_keys(placed.order_id)
    kinguin.sandbox.release(MINECRAFT)
    await kinguin.sandbox.idle()

    assert (product.is_preorder, product.release_date) == (True, "2031-03-01")
    assert (placed.is_preorder, placed.preorder_release_date) == (True, date(2031, 3, 1))
    assert (waiting.status, waiting.is_preorder, no_keys) == ("processing", True, [])
    assert (await client.get_order(placed.order_id)).status == "completed"
    assert len(await client.get_keys(placed.order_id)) == 1


async def test_image_keys_of_every_documented_type_are_read_as_base64_images(
    client: KinguinClient, kinguin: Kinguin
) -> None:
    placed = await client.place_order("order-images", cs(9))
    await kinguin.sandbox.idle()

    keys = await client.get_keys(placed.order_id)

    images = [(k.type, base64.b64decode(k.serial, validate=True)) for k in keys[2::3]]
    assert [kind for kind, _ in images] == ["image/png", "image/jpeg", "image/gif"]
    assert [data[:4] for _, data in images] == [b"\x89PNG", b"\xff\xd8\xff\xfe", b"GIF8"]
    assert {k.type for k in keys} - {"image/png", "image/jpeg", "image/gif"} == {"text/plain"}


async def test_a_canceled_order_is_read_as_canceled_with_no_keys_and_its_price_refunded(
    client: KinguinClient, kinguin: Kinguin
) -> None:
    kinguin.sandbox.hold = True
    before = await client.balance()
    placed = await client.place_order("order-cancel", cs(2))
    kinguin.sandbox.cancel(kinguin.sandbox.store.orders[placed.order_id])
    await kinguin.sandbox.idle()

    order = await client.get_order(placed.order_id)

    assert order.status == "canceled"
    assert [k.status for k in order.lines[0].keys] == ["CANCELED", "CANCELED"]
    assert await client.get_keys(placed.order_id) == []
    assert await client.balance() == before


async def test_each_call_to_kinguin_is_counted_by_operation_and_outcome(
    kinguin: Kinguin,
) -> None:
    metrics = RuntimeMetrics("kinguin-gateway")
    kinguin.sandbox.faults.update({"fail_next": 1})
    transport = MeteredTransport("kinguin", metrics.outbound)
    async with httpx.AsyncClient(transport=transport) as http:
        client = KinguinClient(kinguin.url, API_KEY, http, backoff=0.01)
        assert await client.find_by_external_id("order-1") is None  # a 5xx, then retried
        order = await client.place_order("order-1", cs(1))
        await kinguin.sandbox.idle()
        await client.get_keys(order.order_id)

    def counted(operation: str, outcome: str) -> float:
        labels = {"service": "kinguin-gateway", "peer": "kinguin", "operation": operation}
        value = metrics.registry.get_sample_value(
            "bitloot_outbound_requests_total", {**labels, "outcome": outcome}
        )
        return value or 0.0

    assert counted("find_order", "server_error") == 1
    assert counted("find_order", "ok") == 1
    assert counted("create_order", "ok") == 1
    assert counted("get_keys", "ok") == 1
    assert order.order_id not in metrics.render()[0].decode()
