"""Ingress: the NOWPayments IPN endpoint of the running payments service against the
baseline endpoint (one INSERT per request, same server stack), in the same run.

For each: the most it sustains (closed loop), then p50/p99 at a fixed open-loop rate.
The IPNs are every pre-paid status (waiting, confirming, confirmed, sending) of one
payment per order, signed as NOWPayments signs; once all have been sent they repeat, as
NOWPayments' retries do. `finished` is left out so that ingress starts no fulfilment (the
pipeline phases measure that).
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from uuid import uuid4

import aiohttp

from bench.load import Run, closed_loop, open_loop, progress
from bench.stack import PRODUCT_ID, Stack
from bitloot_launch.supervisor import Supervisor
from bitloot_launch.wiring import Process
from bitloot_payments.adapters.ipn_signature import sign
from bitloot_testing.net import free_port

STATUSES = ("waiting", "confirming", "confirmed", "sending")
REPO = Path(__file__).parent.parent


@asynccontextmanager
async def baseline_server(stack: Stack) -> AsyncIterator[str]:
    """The baseline process on its own database; yields its URL."""
    await stack.create_database("baseline")
    port = free_port()
    env = {"BASELINE_DATABASE_URL": stack.machine.database("baseline"), "BASELINE_PORT": str(port)}
    baseline = Process("baseline", "bench.baseline_app", env, "/readyz", port, "BASELINE_PORT")
    async with Supervisor([baseline], stack.logs) as running:
        yield running.url("baseline")


@asynccontextmanager
async def aiohttp_client() -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        yield session


async def signed_ipns(http: aiohttp.ClientSession, stack: Stack, orders: int) -> list[bytes]:
    """Places `orders` orders (against the NOWPayments sandbox) and returns their IPNs."""
    payments, auth = stack.url("payments"), {"authorization": f"Bearer {stack.keys.internal_token}"}
    product = {"title": "Bench", "kinguin_product_id": PRODUCT_ID, "price": "12.50",
               "currency": "usd", "max_purchase_price": "9"}  # fmt: skip
    async with http.put(f"{payments}/internal/products/bench", json=product, headers=auth) as r:
        r.raise_for_status()

    async def place(number: int) -> str:
        body = {"email": f"ipn{number}@bench.example", "lines": [{"sku": "bench", "qty": 1}]}
        async with http.post(f"{payments}/orders", json=body) as answer:
            answer.raise_for_status()
            return str((await answer.json())["order_id"])

    order_ids: list[str] = []
    for start in range(0, orders, 20):
        order_ids += await asyncio.gather(*map(place, range(start, min(orders, start + 20))))
    return [
        json.dumps({
            "payment_id": 7_000_000_000 + number, "payment_status": status,
            "order_id": order_id, "price_amount": 12.5, "price_currency": "usd",
            "pay_amount": 12.51, "actually_paid": 0, "pay_currency": "usdttrc20",
            "order_description": f"BitLoot order {order_id}", "invoice_id": 1,
            "purchase_id": str(uuid4()),
        }).encode()
        for status in STATUSES
        for number, order_id in enumerate(order_ids)
    ]  # fmt: skip


async def measure(stack: Stack, *, rate: float, seconds: float, orders: int) -> dict[str, object]:
    async with baseline_server(stack) as baseline_url, aiohttp_client() as http:
        ipns = await signed_ipns(http, stack, orders)
        signatures = [sign(body, stack.keys.nowpayments_ipn_secret) for body in ipns]
        print(f"  {orders} orders placed, {len(ipns)} signed IPNs", flush=True)
        ipn_url = f"{stack.url('payments')}/payments/ipn"

        async def ipn(index: int) -> bool:
            body, signature = ipns[index % len(ipns)], signatures[index % len(ipns)]
            headers = {"x-nowpayments-sig": signature, "content-type": "application/json"}
            return await _post(http, ipn_url, body, headers)

        async def baseline(index: int) -> bool:
            body = ipns[index % len(ipns)]
            return await _post(http, f"{baseline_url}/baseline", body, {})

        # Latency first: the backlog the closed loop leaves the IPN processor would
        # otherwise compete with the fixed-rate requests.
        base_fixed = await open_loop("baseline", baseline, rate=rate, seconds=seconds)
        ipn_fixed = await open_loop("IPN", ipn, rate=rate, seconds=seconds)
        lag_at_rate = await _drained(http, stack)
        workers = 32
        base_max = await closed_loop("baseline max", baseline, workers=workers, seconds=seconds)
        ipn_max = await closed_loop("IPN max", ipn, workers=workers, seconds=seconds)
        lag = await _drained(http, stack)
    return {
        **_figures(ipn_max, base_max, ipn_fixed, base_fixed, rate),
        "processor_lag_at_rate_s": lag_at_rate,
        "processor_lag_s": lag,
    }


async def _drained(http: aiohttp.ClientSession, stack: Stack, limit: float = 120) -> float:
    """Seconds from the last answered IPN until payments has applied every stored IPN (the
    work it does after answering): its lag behind the acknowledged IPNs. Also makes the next
    phase start on an idle service. Polled every 0.25 s: 0.0 means nothing was pending."""
    url = f"{stack.url('payments')}/internal/ipns?result=pending&limit=1"
    auth = {"authorization": f"Bearer {stack.keys.internal_token}"}
    start = time.monotonic()
    while time.monotonic() - start < limit:
        async with http.get(url, headers=auth) as answer:
            if not (await answer.json())["items"]:
                break
        progress("IPN processor: applying the stored IPNs")
        await asyncio.sleep(0.25)
    lag = time.monotonic() - start
    print(f"\r  IPN processor: every stored IPN applied {lag:.1f} s after the last".ljust(78))
    return round(lag, 1)


async def _post(
    http: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
) -> bool:
    try:
        async with http.post(url, data=body, headers=headers) as answer:
            await answer.read()
            return answer.status == 200
    except aiohttp.ClientError:
        return False


def _figures(
    ipn_max: Run, base_max: Run, ipn_fixed: Run, base_fixed: Run, rate: float
) -> dict[str, object]:
    return {
        "ipn_max_rps": round(ipn_max.rate, 1),
        "baseline_max_rps": round(base_max.rate, 1),
        "ratio": round(ipn_max.rate / base_max.rate, 3) if base_max.rate else 0,
        "p50_ms": round(ipn_fixed.percentile(50), 2),
        "p99_ms": round(ipn_fixed.percentile(99), 2),
        "offered_rps": rate,
        "baseline_p50_ms": round(base_fixed.percentile(50), 2),
        "baseline_p99_ms": round(base_fixed.percentile(99), 2),
        "failures": ipn_max.failures + ipn_fixed.failures,
        "baseline_failures": base_max.failures + base_fixed.failures,
    }
