"""Steady load: customers placing orders at a fixed rate, each paid by the NOWPayments
sandbox (auto-pay), whatever the faults. A customer whose checkout fails (the service is
down, or answers 5xx) tries again with the same `Idempotency-Key`, as the shop's page
does, so a retry never makes a second order. One order in `REFUND_EVERY` buys the
product Kinguin refuses to sell (chaos.stack.REFUND_SKU): it fails after payment and
takes the refund path."""

import asyncio
import time
import uuid
from dataclasses import dataclass, field

import httpx

from bitloot_launch.catalog import CATALOG
from chaos.stack import REFUND_SKU

RETRYABLE = frozenset({429, 500, 502, 503, 504})
REFUND_EVERY = 25


@dataclass
class Placed:
    """The orders placed so far: order id -> customer email and order token, which of
    them buy the product Kinguin refuses (refund orders), and how many checkouts needed
    more than one try."""

    emails: dict[str, str] = field(default_factory=dict)
    # order id -> the order token checkout answered: the customer's key to its order page
    # (payments' public `GET /orders/{id}`), the witness of how each order ended.
    tokens: dict[str, str] = field(default_factory=dict)
    retried: int = 0
    refused: list[str] = field(default_factory=list)  # a 4xx: a bug, reported as such
    refunds: set[str] = field(default_factory=set)

    @property
    def normal(self) -> dict[str, str]:
        """The orders expected to end fulfilled (all but the refund orders)."""
        return {o: e for o, e in self.emails.items() if o not in self.refunds}

    @property
    def refund_emails(self) -> dict[str, str]:
        """The refund orders: order id -> customer email."""
        return {o: e for o, e in self.emails.items() if o in self.refunds}


def is_refund_order(number: int) -> bool:
    return number % REFUND_EVERY == REFUND_EVERY - 1


async def place(http: httpx.AsyncClient, payments: str, number: int, placed: Placed) -> None:
    """Check out order `number` (retrying for up to 3 minutes); record it in `placed`."""
    email = f"buyer{number}@chaos.bitloot.test"
    refund = is_refund_order(number)
    sku = REFUND_SKU if refund else CATALOG[number % len(CATALOG)][0]
    body = {"email": email, "lines": [{"sku": sku, "qty": 1}]}
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    deadline, delay = time.monotonic() + 180, 0.5
    tries = 0
    while True:
        tries += 1
        try:
            answer = await http.post(f"{payments}/orders", json=body, headers=headers)
        except httpx.TransportError:
            answer = None
        if answer is not None and answer.status_code == 201:
            order_id = str(answer.json()["order_id"])
            placed.tokens[order_id] = str(answer.json()["order_token"])
            if refund:
                placed.refunds.add(order_id)
            placed.emails[order_id] = email
            placed.retried += tries > 1
            return
        if answer is not None and answer.status_code not in RETRYABLE:
            placed.refused.append(f"{email}: {answer.status_code} {answer.text[:200]}")
            return
        if time.monotonic() > deadline:
            placed.refused.append(f"{email}: no answer for 3 minutes")
            return
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5.0)


async def steady(payments: str, orders: int, rate: float, placed: Placed) -> None:
    """Order i starts at i/rate seconds whether earlier ones were answered or not."""
    async with httpx.AsyncClient(timeout=10) as http:
        start, tasks = time.monotonic(), []
        for number in range(orders):
            await asyncio.sleep(max(0.0, start + number / rate - time.monotonic()))
            tasks.append(asyncio.create_task(place(http, payments, number, placed)))
        await asyncio.gather(*tasks)
