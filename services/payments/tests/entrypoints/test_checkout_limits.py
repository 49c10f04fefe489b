"""Checkout rate limits: per client address (as resolved through the trusted proxies) and
for the whole shop, refused with 429 before any order row or NOWPayments invoice exists."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from payments_support import count_orders, execute, scalar
from sqlalchemy import func, insert, select

from bitloot_payments.adapters.orm import rate_limits
from bitloot_payments.adapters.unit_of_work import PaymentsUnitOfWork
from bitloot_payments.handlers.checkout_limits import (
    NETWORK_FACTOR,
    CheckoutGate,
    CheckoutLimits,
    client_bucket,
    network_bucket,
)
from bitloot_payments.settings import Settings
from bitloot_runtime.rate_limits import Limit, RateLimited
from bitloot_runtime.service import ServiceRuntime
from bitloot_sandbox_nowpayments.sandbox import NowPaymentsSandbox

PER_CLIENT, SHOP_WIDE = 3, 5
PROXY = "10.1.2.3"
ORDER = {"email": "buyer@example.com", "lines": [{"sku": "g-1", "qty": 1}]}

Peer = Callable[[str], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "checkout_client_limit": PER_CLIENT,
            "checkout_global_limit": SHOP_WIDE,
            "checkout_client_window_seconds": 3600.0,
            "checkout_global_window_seconds": 3600.0,
            "trusted_proxies": ("10.0.0.0/8",),
        }
    )


@pytest.fixture
def peer(transport: httpx.ASGITransport) -> Peer:
    """A client of the service whose connection comes from `address`."""

    @asynccontextmanager
    async def connect(address: str) -> AsyncIterator[httpx.AsyncClient]:
        peer_transport = httpx.ASGITransport(app=transport.app, client=(address, 40000))
        async with httpx.AsyncClient(transport=peer_transport, base_url="http://test") as http:
            yield http

    return connect


def assert_refused(answer: httpx.Response, limit: str) -> None:
    assert answer.status_code == 429, answer.text
    assert answer.json()["error"] == "rate_limited"
    assert answer.json()["fields"] == [{"limit": limit}]
    assert 1 <= int(answer.headers["retry-after"]) <= 3600


async def test_a_client_past_its_limit_is_refused_before_any_order_or_invoice(
    peer: Peer, runtime: ServiceRuntime, nowpayments: NowPaymentsSandbox
) -> None:
    async with peer("203.0.113.7") as buyer:
        placed = [await buyer.post("/orders", json=ORDER) for _ in range(PER_CLIENT)]
        assert [answer.status_code for answer in placed] == [201] * PER_CLIENT
        for _ in range(2):
            assert_refused(await buyer.post("/orders", json=ORDER), "checkout_client")
    assert len(nowpayments.store.invoices) == PER_CLIENT
    assert await count_orders(runtime) == PER_CLIENT


@pytest.mark.parametrize(
    ("one", "other"),
    [("203.0.113.7", "198.51.100.9"), ("::ffff:203.0.113.7", "::ffff:198.51.100.9")],
    ids=["ipv4", "ipv4-mapped"],
)
async def test_two_clients_are_counted_apart(peer: Peer, one: str, other: str) -> None:
    async with peer(one) as first, peer(other) as second:
        for _ in range(PER_CLIENT):
            assert (await first.post("/orders", json=ORDER)).status_code == 201
        assert_refused(await first.post("/orders", json=ORDER), "checkout_client")
        assert (await second.post("/orders", json=ORDER)).status_code == 201


async def test_the_shop_wide_limit_refuses_every_client_once_reached(
    peer: Peer, runtime: ServiceRuntime, nowpayments: NowPaymentsSandbox
) -> None:
    for index in range(SHOP_WIDE):
        async with peer(f"192.0.2.{index + 1}") as buyer:
            assert (await buyer.post("/orders", json=ORDER)).status_code == 201
    async with peer("192.0.2.200") as newcomer:
        assert_refused(await newcomer.post("/orders", json=ORDER), "checkout_global")
    assert len(nowpayments.store.invoices) == SHOP_WIDE
    assert await count_orders(runtime) == SHOP_WIDE


async def test_a_client_refused_on_its_own_limit_takes_nothing_from_the_shop(
    peer: Peer,
) -> None:
    async with peer("203.0.113.7") as greedy:
        for _ in range(PER_CLIENT):
            assert (await greedy.post("/orders", json=ORDER)).status_code == 201
        for _ in range(10):
            assert_refused(await greedy.post("/orders", json=ORDER), "checkout_client")
    async with peer("198.51.100.9") as other:
        assert (await other.post("/orders", json=ORDER)).status_code == 201


async def test_clients_behind_a_trusted_proxy_are_counted_by_their_forwarded_address(
    peer: Peer,
) -> None:
    async with peer(PROXY) as proxy:
        for _ in range(PER_CLIENT):
            answer = await proxy.post(
                "/orders", json=ORDER, headers={"x-forwarded-for": "203.0.113.7"}
            )
            assert answer.status_code == 201
        refused = await proxy.post(
            "/orders", json=ORDER, headers={"x-forwarded-for": "203.0.113.7"}
        )
        assert_refused(refused, "checkout_client")
        other = await proxy.post("/orders", json=ORDER, headers={"x-forwarded-for": "203.0.113.8"})
        assert other.status_code == 201


async def test_a_forged_forwarded_for_from_an_untrusted_peer_is_ignored(peer: Peer) -> None:
    async with peer("203.0.113.7") as forger:
        for index in range(PER_CLIENT):
            forged = {"x-forwarded-for": f"198.51.100.{index + 1}"}
            assert (await forger.post("/orders", json=ORDER, headers=forged)).status_code == 201
        forged = {"x-forwarded-for": "198.51.100.99"}
        assert_refused(await forger.post("/orders", json=ORDER, headers=forged), "checkout_client")


async def test_an_invalid_order_is_refused_without_counting(peer: Peer) -> None:
    async with peer("203.0.113.7") as buyer:
        for _ in range(PER_CLIENT * 2):
            answer = await buyer.post("/orders", json={**ORDER, "lines": []})
            assert answer.status_code == 422
        assert (await buyer.post("/orders", json=ORDER)).status_code == 201


async def test_counters_of_past_windows_are_forgotten(runtime: ServiceRuntime) -> None:
    old = datetime.now(UTC) - timedelta(days=2)
    bucket = {"bucket": "checkout_client:192.0.2.1", "window_start": old, "hits": 1}
    await execute(runtime, insert(rate_limits).values(**bucket))
    hour = timedelta(hours=1)
    limits = CheckoutLimits(Limit("a", 1, hour), Limit("n", 1, hour), Limit("b", 1, hour))
    gate = CheckoutGate(runtime.units_of_work(PaymentsUnitOfWork), limits)
    assert await gate.forget_old_counters() == 1


def test_ipv6_clients_count_per_64_and_unknown_peers_share_a_bucket() -> None:
    assert client_bucket("2001:db8:1:2:aaaa::1") == client_bucket("2001:db8:1:2:bbbb::9")
    assert client_bucket("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert client_bucket("2001:db8:1:3::1") != client_bucket("2001:db8:1:2::1")
    assert client_bucket("203.0.113.7") == "203.0.113.7"
    assert client_bucket(None) == client_bucket("testclient") == "unknown"


def test_ipv4_mapped_clients_count_as_their_ipv4_address() -> None:
    assert client_bucket("::ffff:1.2.3.4") == "1.2.3.4"
    assert client_bucket("::ffff:1.2.3.4") != client_bucket("::ffff:5.6.7.8")
    assert network_bucket("::ffff:1.2.3.4") is None


def test_ipv6_clients_also_count_per_48() -> None:
    assert network_bucket("2001:db8:1:2::1") == network_bucket("2001:db8:1:ffff::1")
    assert network_bucket("2001:db8:1:2::1") == "2001:db8:1::/48"
    assert network_bucket("2001:db8:2::1") != network_bucket("2001:db8:1::1")
    assert network_bucket("203.0.113.7") is None
    assert network_bucket(None) is None


async def test_a_mapped_client_and_its_ipv4_form_share_one_allowance(peer: Peer) -> None:
    async with peer("::ffff:203.0.113.7") as mapped:
        for _ in range(PER_CLIENT):
            assert (await mapped.post("/orders", json=ORDER)).status_code == 201
    async with peer("203.0.113.7") as plain:
        assert_refused(await plain.post("/orders", json=ORDER), "checkout_client")


async def test_a_client_rotating_its_64s_is_bounded_per_48(runtime: ServiceRuntime) -> None:
    per_network = PER_CLIENT * NETWORK_FACTOR
    gate = CheckoutGate(
        runtime.units_of_work(PaymentsUnitOfWork),
        CheckoutLimits(
            Limit("checkout_client", PER_CLIENT, timedelta(hours=1)),
            Limit("checkout_network", per_network, timedelta(hours=1)),
            Limit("checkout_global", per_network * 10, timedelta(hours=1)),
        ),
    )
    for index in range(per_network):
        await gate(f"2001:db8:7:{index:x}::1")
    with pytest.raises(RateLimited) as refused:
        await gate("2001:db8:7:ffff::1")
    assert refused.value.limit.name == "checkout_network"
    await gate("2001:db8:8::1")


async def test_a_client_refused_by_the_shop_keeps_its_own_allowance(
    peer: Peer, runtime: ServiceRuntime
) -> None:
    window = Limit("checkout_global", SHOP_WIDE, timedelta(hours=1)).window_start(datetime.now(UTC))
    bucket = {"bucket": "checkout_global:shop", "window_start": window, "hits": SHOP_WIDE}
    await execute(runtime, insert(rate_limits).values(**bucket))
    async with peer("203.0.113.7") as buyer:
        for _ in range(PER_CLIENT + 2):
            assert_refused(await buyer.post("/orders", json=ORDER), "checkout_global")
    hits = select(func.coalesce(func.sum(rate_limits.c.hits), 0))
    spent = await scalar(runtime, hits.where(rate_limits.c.bucket == "checkout_client:203.0.113.7"))
    assert spent == 0
