"""What every client of a running BitLoot needs first: the demo catalogue seeded through
payments' catalog API, an order placed as a customer places one, the orders' states, and
the reveal link a customer finds in the key email."""

import re
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlencode

import httpx

from bitloot_launch.infra import Mailbox
from bitloot_payments.entrypoints.catalog_cli import CatalogClient

LINK = re.compile(r"https?://\S+/keys/[A-Za-z0-9._~-]+")
# Kinguin sandbox products and what the shop sells them for.
CATALOG = (
    ("cs-source", "Counter-Strike: Source (Steam)", "5c9b5f6b2539a4e8f172916a", "4.99", "3.00"),
    ("minecraft-java", "Minecraft: Java Edition", "5c9b6f0d2539a4e8f17ab8e2", "26.99", "21.00"),
    ("steam-10-eur", "Steam Gift Card 10 EUR", "5c9b6a2f2539a4e8f1786a1c", "12.99", "11.00"),
)
# Where each product's keys are redeemed, as Kinguin names the platform: the reveal page's
# redemption help (a product without one gets the general help).
PLATFORMS = {"cs-source": "Steam", "steam-10-eur": "Steam"}


class Shop(Protocol):
    """Where the payments service answers, and the token of its internal API."""

    @property
    def payments(self) -> str: ...

    @property
    def internal_token(self) -> str: ...

    @property
    def fulfillment(self) -> str: ...


async def seed_catalog(http: httpx.AsyncClient, stack: Shop) -> None:
    """Put the demo's products through the payments service's catalog API (the client
    behind ``bitloot-payments-catalog``)."""
    catalog = CatalogClient(http, stack.payments, stack.internal_token)
    for sku, title, product_id, price, ceiling in CATALOG:
        await catalog.put(
            {
                "sku": sku,
                "title": title,
                "kinguin_product_id": product_id,
                "price": price,
                "currency": "usd",
                "max_purchase_price": ceiling,
                "active": True,
                "platform": PLATFORMS.get(sku),
            }
        )


@dataclass(frozen=True)
class PlacedOrder:
    """What checkout answered a customer: the order, and the token that opens its page."""

    order_id: str
    email: str
    token: str = field(repr=False)


async def checkout(http: httpx.AsyncClient, stack: Shop, number: int) -> PlacedOrder:
    """Place (and, through the sandbox's auto-pay, pay) one order as a customer does."""
    email = f"buyer{number}@demo.bitloot.test"
    sku = CATALOG[number % len(CATALOG)][0]
    answer = await http.post(
        f"{stack.payments}/orders", json={"email": email, "lines": [{"sku": sku, "qty": 1}]}
    )
    answer.raise_for_status()
    placed = answer.json()
    return PlacedOrder(str(placed["order_id"]), email, str(placed["order_token"]))


async def place_order(http: httpx.AsyncClient, stack: Shop, number: int) -> tuple[str, str]:
    """Place (and pay) one order: (order id, email)."""
    placed = await checkout(http, stack, number)
    return placed.order_id, placed.email


def order_page(public_url: str, order: PlacedOrder) -> str:
    """The customer's order page, opened with the order token as checkout returned it."""
    return f"{public_url}/orders/{order.order_id}?{urlencode({'token': order.token})}"


async def states_of(http: httpx.AsyncClient, stack: Shop, order_ids: list[str]) -> dict[str, str]:
    """Each order's saga state, as fulfillment's internal API reports it."""
    states: dict[str, str] = {}
    for start in range(0, len(order_ids), 50):
        params: list[tuple[str, str | int | float | bool | None]] = [("limit", 100)]
        params += [("order_id", order_id) for order_id in order_ids[start : start + 50]]
        answer = await http.get(
            f"{stack.fulfillment}/internal/sagas",
            params=params,
            headers={"Authorization": f"Bearer {stack.internal_token}"},
        )
        answer.raise_for_status()
        states.update({item["order_id"]: item["state"] for item in answer.json()["items"]})
    return states


def emailed_link(mailbox: Mailbox, address: str) -> str | None:
    """The reveal link in the first email to `address`: None if no email came, "" if
    the email holds no link."""
    mails = mailbox.for_recipient(address)
    if not mails:
        return None
    body = mails[0].message.get_body(preferencelist=("plain",))
    match = LINK.search(body.get_content() if body is not None else "")
    return match.group(0) if match else ""
