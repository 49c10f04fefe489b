"""The refund path under the same faults: each refund order's customer and an admin.

An order of the product Kinguin refuses (chaos.stack.REFUND_SKU) fails after payment, and
payments owes the money back. Its customer waits for delivery's `refund_due` email, opens
the claim link (the page's JSON, for the refund's currency), and claims with a payout
address of that currency; an admin then finds the refund in the admin API and approves
it, and payments' payout runner pays it through NOWPayments. Services die and servers
crash meanwhile, so every call is retried through transport errors and 5xx (and 429)
for minutes; an answer saying the step was already taken (a claim whose answer was lost,
an approval already made) counts as done. Each customer calls from its own loopback
address, as customers do from their own machines, so that payments' per-address limit
on claims applies as it would in production.
"""

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

import httpx

from bitloot_testing.totp import authenticator
from chaos.load import Placed
from chaos.stack import ChaosStack

CLAIM_LINK: Final = re.compile(r"https?://\S+/refunds/claim\?token=[A-Za-z0-9._~%-]+")
ACCEPT_JSON: Final = {"Accept": "application/json"}
RETRYABLE: Final = frozenset({429, 500, 502, 503, 504})
# A refund still moving towards `sent`: the customer and the admin have done their part.
DECIDED: Final = frozenset({"approved", "sending", "sent"})
# Real addresses of each currency the NOWPayments sandbox takes payments in (its RATES;
# auto-pay pays in its default, usdttrc20), each passing payments' checks
# (bitloot_payments.domain.payout_address; chaos/tests/test_refunds.py proves it): the
# EVM ones are EIP-55 test vectors, the bitcoin one BIP-173's, tron and litecoin base58check.
PAYOUT_ADDRESSES: Final[dict[str, str]] = {
    "usdttrc20": "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
    "trx": "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
    "usdterc20": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "usdc": "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "eth": "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "btc": "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
    "ltc": "LaMT348PWRnrqeeWArpwQPbuanpXDZGEUz",
}


class GaveUp(Exception):
    """A call still failing after the retry window: reported, not raised further."""


@dataclass
class RefundDesk:
    """What the refunding customers and the admin did: the address each customer
    claimed with (order id -> address), the refunds approved (order id -> refund id),
    calls retried through a fault, and anything refused that should not have been."""

    claimed: dict[str, str] = field(default_factory=dict)
    approved: dict[str, int] = field(default_factory=dict)
    retried: int = 0
    problems: list[str] = field(default_factory=list)


async def retrying(
    desk: RefundDesk, call: Callable[[], Awaitable[httpx.Response]], window: float = 300.0
) -> httpx.Response:
    """`call`'s first answer that is neither a transport error nor 429/5xx, retried with
    backoff for up to `window` seconds (`GaveUp` after)."""
    deadline, delay = time.monotonic() + window, 0.5
    while True:
        try:
            answer = await call()
            if answer.status_code not in RETRYABLE:
                return answer
            what = f"{answer.status_code} {answer.text[:120]}"
        except httpx.TransportError as exc:
            what = f"{type(exc).__name__}"
        if time.monotonic() > deadline:
            raise GaveUp(what)
        desk.retried += 1
        await asyncio.sleep(delay)
        delay = min(delay * 2, 5.0)


def error_of(answer: httpx.Response) -> str:
    """The machine-readable reason of a refusal ("" when the body has none)."""
    try:
        body = answer.json()
    except ValueError:
        return ""
    return str(body.get("error", "")) if isinstance(body, dict) else ""


class Admin:
    """An admin's API session (the account the admin service seeds at start), logged in
    again when the session is refused."""

    def __init__(self, http: httpx.AsyncClient, stack: ChaosStack, desk: RefundDesk) -> None:
        self.http, self.stack, self.desk = http, stack, desk
        self.url = stack.url("admin") + "/admin"
        self._headers: dict[str, str] | None = None
        self._lock = asyncio.Lock()

    async def _session(self) -> dict[str, str]:
        async with self._lock:
            if self._headers is None:
                login = await retrying(
                    self.desk,
                    lambda: self.http.post(
                        f"{self.url}/login",
                        json={
                            "username": self.stack.machine.admin_username,
                            "password": self.stack.keys.admin_password,
                            "totp": authenticator(self.stack.keys.admin_totp_secret).code(),
                        },
                    ),
                )
                login.raise_for_status()
                self._headers = {"Authorization": f"Bearer {login.json()['token']}"}
            return self._headers

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """The admin API's answer (retried through faults; logged in again on a 401)."""
        url = f"{self.url}{path}"
        while True:
            headers = await self._session()
            send = partial(self.http.request, method, url, headers=headers, **kwargs)
            answer = await retrying(self.desk, send)
            if answer.status_code != 401:
                return answer
            self._headers = None  # the session is gone (the admin's restart): log in again
            await asyncio.sleep(1)

    async def refund_of(self, order_id: str) -> dict[str, Any] | None:
        """The order's refund as the admin's queue shows it (None: not visible yet)."""
        answer = await self.call("GET", "/api/refunds", params={"order_id": order_id})
        answer.raise_for_status()
        body = answer.json()
        items = [i for i in body["items"] if i["reason"] == "order_failed"]
        return dict(items[0]) if items and not body.get("partial") else None


def claim_link(stack: ChaosStack, address: str) -> str | None:
    """The claim link in the first `refund_due` email to `address` (None: none yet)."""
    for mail in stack.mailbox.mails:
        if address in mail.recipients and mail.kind == "refund_due":
            body = mail.message.get_body(preferencelist=("plain",))
            found = CLAIM_LINK.search(body.get_content() if body is not None else "")
            return found.group(0) if found else ""
    return None


async def claim(
    http: httpx.AsyncClient, stack: ChaosStack, desk: RefundDesk, order_id: str, email: str
) -> bool:
    """The customer's part: wait for the email, claim with an address of the refund's
    currency. Whether the refund is now claimed (a problem is recorded otherwise)."""
    while True:  # the email comes when the saga has failed and payments owes the money
        link = claim_link(stack, email)
        if link is not None:
            break
        await asyncio.sleep(1)
    if not link:
        desk.problems.append(f"{order_id}: the refund_due email holds no claim link")
        return False
    token = parse_qs(urlsplit(link).query)["token"][0]
    page = await retrying(desk, lambda: http.get(link, headers=ACCEPT_JSON))
    if page.status_code != 200:
        desk.problems.append(f"{order_id}: claim page {page.status_code} {error_of(page)}")
        return False
    refund = page.json()
    currency = str(refund["currency"]).lower()
    address = PAYOUT_ADDRESSES.get(currency)
    if address is None:
        desk.problems.append(f"{order_id}: no payout address kept for {currency}")
        return False
    form = {"token": token, "address": address, "extra_id": ""}
    answer = await retrying(
        desk,
        lambda: http.post(f"{stack.payments}/refunds/claim", data=form, headers=ACCEPT_JSON),
    )
    # 409 already_claimed: an earlier try was recorded and its answer lost in a fault.
    if answer.status_code == 200 or error_of(answer) == "already_claimed":
        desk.claimed[order_id] = address
        return True
    desk.problems.append(f"{order_id}: claim refused {answer.status_code} {error_of(answer)}")
    return False


async def approve(admin: Admin, desk: RefundDesk, order_id: str) -> None:
    """The admin's part: approve the claimed refund (already approved counts as done)."""
    while True:
        refund = await admin.refund_of(order_id)
        status = refund["status"] if refund else None
        if refund is None or status == "due":  # not visible in the queue yet
            await asyncio.sleep(1)
            continue
        if status in DECIDED:
            desk.approved[order_id] = int(refund["id"])
            return
        if status != "claimed":
            desk.problems.append(f"{order_id}: refund {refund['id']} is {status}, not claimed")
            return
        answer = await admin.call(
            "POST", f"/api/refunds/{refund['id']}/approve", json={"note": "chaos run: approved"}
        )
        if answer.status_code == 200:
            desk.approved[order_id] = int(refund["id"])
            return
        if error_of(answer) != "not_claimed":  # not_claimed: read where it stands now
            desk.problems.append(f"{order_id}: approve refused {answer.status_code}")
            return
        await asyncio.sleep(1)


async def refund_one(
    stack: ChaosStack, admin: Admin, desk: RefundDesk, order_id: str, email: str, number: int
) -> None:
    # Each customer from its own loopback address (127.0.1.x), as from its own machine.
    transport = httpx.AsyncHTTPTransport(local_address=f"127.0.1.{number % 250 + 1}")
    try:
        async with httpx.AsyncClient(timeout=10, transport=transport) as http:
            if await claim(http, stack, desk, order_id, email):
                await approve(admin, desk, order_id)
    except (GaveUp, httpx.HTTPError) as exc:
        desk.problems.append(f"{order_id}: gave up: {exc}")


async def customers_and_admin(stack: ChaosStack, placed: Placed, desk: RefundDesk) -> None:
    """For each refund order as it is placed, its customer claims and the admin approves;
    runs until cancelled (after the drain)."""
    started: set[str] = set()
    tasks: list[asyncio.Task[None]] = []
    async with httpx.AsyncClient(timeout=10) as http:
        admin = Admin(http, stack, desk)
        try:
            while True:
                for order_id in sorted(placed.refunds - started):
                    started.add(order_id)
                    email = placed.emails[order_id]
                    work = refund_one(stack, admin, desk, order_id, email, len(started))
                    tasks.append(asyncio.create_task(work))
                await asyncio.sleep(1)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


async def refunds_of(
    http: httpx.AsyncClient, stack: ChaosStack, order_ids: list[str]
) -> dict[str, list[dict[str, Any]]]:
    """Each order's refunds, as payments' internal API reports them."""
    found: dict[str, list[dict[str, Any]]] = {}
    for order_id in order_ids:
        answer = await http.get(
            f"{stack.payments}/internal/refunds",
            params={"order_id": order_id, "limit": 100},
            headers=stack.internal,
        )
        answer.raise_for_status()
        found[order_id] = list(answer.json()["items"])
    return found


async def all_refunds(http: httpx.AsyncClient, stack: ChaosStack) -> list[dict[str, Any]]:
    """Every refund payments holds, whatever its order (paged by id)."""
    found: list[dict[str, Any]] = []
    params: dict[str, str | int] = {"limit": 100}
    while True:
        answer = await http.get(
            f"{stack.payments}/internal/refunds", params=params, headers=stack.internal
        )
        answer.raise_for_status()
        page = answer.json()
        found += page["items"]
        if page.get("next") is None:
            return found
        params["before"] = page["next"]


async def payouts(http: httpx.AsyncClient, stack: ChaosStack) -> list[dict[str, Any]]:
    """Every withdrawal the NOWPayments sandbox made (its payout ledger), flattened."""
    answer = await http.get(f"{stack.url('nowpayments-sandbox')}/sandbox/payouts")
    answer.raise_for_status()
    return [w for batch in answer.json() for w in batch["withdrawals"]]
