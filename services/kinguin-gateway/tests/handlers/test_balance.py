"""The balance watch against the Kinguin sandbox, served for real: the balance read and
exported, marked low below the threshold and cleared after a top-up, one warning per
fall, and a failed read that keeps the last reading, stale, without stopping the loop."""

import asyncio
import contextlib
import logging
from decimal import Decimal

import httpx
import pytest
from kinguin_gateway_support import MINECRAFT, Kinguin
from prometheus_client import CollectorRegistry, generate_latest

from bitloot_kinguin_gateway.adapters.kinguin import KinguinClient, KinguinProduct
from bitloot_kinguin_gateway.handlers.balance import BalanceWatch
from bitloot_kinguin_gateway.metrics import BalanceGauges, GatewayMetrics
from bitloot_testing.bus import eventually

THRESHOLD = Decimal(100)
FALL_WARNING = "kinguin balance below the threshold"


class Watched:
    """A watch on `client` and the registry its metrics are in."""

    def __init__(self, client: KinguinClient, interval: float = 300) -> None:
        self.registry = CollectorRegistry()
        self.watch = BalanceWatch(client, THRESHOLD, interval, GatewayMetrics(self.registry))
        self.registry.register(BalanceGauges(lambda: self.watch.status))

    def sample(self, name: str, **labels: str) -> float | None:
        return self.registry.get_sample_value(name, labels)


def warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith(FALL_WARNING)]


async def test_the_balance_is_read_and_exported_in_eur(
    client: KinguinClient, kinguin: Kinguin
) -> None:
    kinguin.sandbox.store.balance = Decimal("1234.56")
    watched = Watched(client)
    status = await watched.watch.read_once()
    assert (status.balance, status.low, status.error) == (Decimal("1234.56"), False, None)
    assert status.read_at is not None
    assert watched.sample("bitloot_kinguin_balance_eur") == 1234.56
    assert watched.sample("bitloot_kinguin_balance_low") == 0
    assert watched.sample("bitloot_kinguin_balance_threshold_eur") == 100
    assert watched.sample("bitloot_kinguin_balance_read_timestamp_seconds") == (
        status.read_at.timestamp()
    )
    assert watched.sample("bitloot_kinguin_balance_reads_total", outcome="ok") == 1


async def test_orders_paid_below_the_threshold_mark_it_low_and_a_top_up_clears_it(
    client: KinguinClient, kinguin: Kinguin, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    kinguin.sandbox.store.balance = Decimal("110.00")
    watched = Watched(client)
    assert (await watched.watch.read_once()).low is False
    await client.place_order("order-low", [KinguinProduct(MINECRAFT, 1, Decimal("19.99"))])

    low = await watched.watch.read_once()
    assert (low.balance, low.low) == (Decimal("90.01"), True)
    assert watched.sample("bitloot_kinguin_balance_low") == 1
    await watched.watch.read_once()
    [warning] = warnings(caplog)
    assert warning.levelno == logging.WARNING
    assert (warning.__dict__["balance_eur"], warning.__dict__["threshold_eur"]) == ("90.01", "100")

    kinguin.sandbox.store.balance += Decimal(500)
    topped_up = await watched.watch.read_once()
    assert (topped_up.balance, topped_up.low) == (Decimal("590.01"), False)
    assert watched.sample("bitloot_kinguin_balance_low") == 0
    kinguin.sandbox.store.balance = Decimal(10)
    await watched.watch.read_once()
    assert len(warnings(caplog)) == 2


async def test_a_failed_read_keeps_the_last_balance_stale_with_its_error(
    client: KinguinClient, kinguin: Kinguin
) -> None:
    kinguin.sandbox.store.balance = Decimal(250)
    watched = Watched(client)
    good = await watched.watch.read_once()
    kinguin.sandbox.store.balance = Decimal(5)
    # Every attempt the client makes at one read answers 503.
    kinguin.sandbox.faults.update({"fail_next": 3})

    stale = await watched.watch.read_once()
    assert (stale.balance, stale.read_at, stale.low) == (Decimal(250), good.read_at, False)
    assert (stale.error, stale.stale) == ("kinguin_unavailable", True)
    assert "503" in str(stale.detail)
    assert watched.sample("bitloot_kinguin_balance_eur") == 250
    assert watched.sample("bitloot_kinguin_balance_reads_total", outcome="failed") == 1

    fresh = await watched.watch.read_once()
    assert (fresh.balance, fresh.low, fresh.error, fresh.stale) == (Decimal(5), True, None, False)


async def test_before_any_reading_the_balance_is_unknown_and_not_exported(
    kinguin: Kinguin, http: httpx.AsyncClient
) -> None:
    refused = KinguinClient(kinguin.url, "not-the-api-key", http, backoff=0.01)
    watched = Watched(refused)
    status = await watched.watch.read_once()
    assert (status.balance, status.low, status.error) == (None, None, "kinguin_access_denied")
    text = generate_latest(watched.registry).decode()
    assert "bitloot_kinguin_balance_eur" not in text
    assert "bitloot_kinguin_balance_low" not in text
    assert watched.sample("bitloot_kinguin_balance_threshold_eur") == 100


async def test_the_loop_rides_out_failing_reads_and_reads_again_next_period(
    client: KinguinClient, kinguin: Kinguin
) -> None:
    kinguin.sandbox.store.balance = Decimal(42)
    kinguin.sandbox.faults.update({"fail_next": 9})
    watched = Watched(client, interval=0.05)
    task = asyncio.create_task(watched.watch.run())
    try:

        async def read() -> bool:
            return watched.watch.status.balance == Decimal(42)

        assert await eventually(read, timeout=10)
        assert not task.done()
        assert watched.watch.status.error is None
        assert watched.sample("bitloot_kinguin_balance_reads_total", outcome="failed") == 3
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
