"""What the demo does with the running stack: seed a catalog, place and pay orders, wait
for every one to end, measure time-to-key, and reveal one key as a customer would."""

import asyncio
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from tqdm import tqdm

from bitloot_launch.catalog import PlacedOrder, checkout, emailed_link, seed_catalog, states_of
from bitloot_launch.infra import Mailbox
from bitloot_launch.inprocess import Stack

TERMINAL = frozenset({"fulfilled", "failed", "refunded"})


@dataclass
class Outcome:
    """What happened to the demo's orders."""

    placed: int = 0
    states: dict[str, str] = field(default_factory=dict)
    time_to_key_ms: list[float] = field(default_factory=list)
    revealed_ok: bool | None = None
    # What the demo prints for acting as the first order's customer.
    first_order: PlacedOrder | None = None
    reveal_link: str | None = None

    def count(self, state: str) -> int:
        return sum(1 for value in self.states.values() if value == state)

    def summary(self) -> str:
        fulfilled, failed = self.count("fulfilled"), self.placed - self.count("fulfilled")
        line = f"demo: {fulfilled}/{self.placed} orders fulfilled, {failed} failed"
        if self.time_to_key_ms:
            p50, p99 = percentile(self.time_to_key_ms, 50), percentile(self.time_to_key_ms, 99)
            line += f", time-to-key p50 {p50:.0f} ms p99 {p99:.0f} ms"
        return line


def percentile(values: Iterable[float], pct: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(pct) - 1]


async def paid_at(http: httpx.AsyncClient, stack: Stack, order_id: str) -> float | None:
    """When payments recorded the order's payment as finished (its `payment_finished`)."""
    answer = await http.get(
        f"{stack.payments}/internal/orders/{order_id}/timeline",
        headers={"Authorization": f"Bearer {stack.internal_token}"},
    )
    for item in answer.json()["items"]:
        if item["kind"] == "payment_finished":
            return datetime.fromisoformat(item["at"]).timestamp()
    return None


async def run(stack: Stack, mailbox: Mailbox, orders: int, timeout: float = 300.0) -> Outcome:
    """Place `orders` orders and wait for each to end (or `timeout` seconds)."""
    outcome = Outcome()
    emails: dict[str, str] = {}
    async with httpx.AsyncClient(timeout=30) as http:
        await seed_catalog(http, stack)
        with tqdm(total=orders, desc="placing orders", unit="order") as bar:
            for number in range(orders):
                placed = await checkout(http, stack, number)
                emails[placed.order_id] = placed.email
                outcome.first_order = outcome.first_order or placed
                bar.update()
        outcome.placed = orders
        order_ids = list(emails)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        with tqdm(total=orders, desc="fulfilling", unit="order") as bar:
            while loop.time() < deadline:
                outcome.states = await states_of(http, stack, order_ids)
                done = sum(1 for state in outcome.states.values() if state in TERMINAL)
                bar.update(done - bar.n)
                if done == orders:
                    break
                await asyncio.sleep(0.2)
        for order_id, email in emails.items():
            started = await paid_at(http, stack, order_id)
            mails = mailbox.for_recipient(email)
            if started is not None and mails:
                outcome.time_to_key_ms.append((mails[0].accepted_at - started) * 1000)
        order_id, email = next(iter(emails.items()))
        outcome.reveal_link = emailed_link(mailbox, email)
        outcome.revealed_ok = await reveal(http, stack, order_id, outcome.reveal_link)
    return outcome


async def reveal(
    http: httpx.AsyncClient, stack: Stack, order_id: str, link: str | None
) -> bool | None:
    """Open an order's emailed link (None: no email came; "": it held no link) and check
    it shows the key Kinguin issued."""
    if link is None:
        return None
    if not link:
        return False
    page = await http.get(link)
    ledger: list[dict[str, Any]] = (
        await http.get(f"{stack.kinguin_sandbox}/sandbox/ledger")
    ).json()
    issued = [
        str(key["serial"])
        for entry in ledger
        if entry["orderExternalId"] == order_id
        for key in entry["keys"]
    ]
    return page.status_code == 200 and bool(issued) and all(key in page.text for key in issued)
