"""The running topology as the end-to-end tests drive it: a customer placing orders, the
two sandboxes' controls, fulfillment's view of an order, an admin's session."""

import re
from typing import Any

import httpx
from five_processes import Running, wait_for

from bitloot_launch.infra import KEY_EMAIL_KINDS
from bitloot_testing.smtp import ReceivedEmail, SmtpServer
from bitloot_testing.totp import authenticator

LINK = re.compile(r"https?://\S+/keys/[A-Za-z0-9._~-]+")


async def reveal(http: httpx.AsyncClient, mail: ReceivedEmail) -> str:
    """The page the email's reveal link opens, as the customer sees it."""
    body = mail.message.get_body(preferencelist=("plain",))
    assert body is not None
    link = LINK.search(body.get_content())
    assert link is not None, body.get_content()
    page = await http.get(link.group(0))
    assert page.status_code == 200, page.text
    return page.text


class Shop:
    """The running topology as a test drives it: the customer, the sandboxes, an admin."""

    def __init__(self, running: Running, http: httpx.AsyncClient, inbox: SmtpServer) -> None:
        self.running, self.http, self.inbox = running, http, inbox
        self.url = running.url

    async def place(self, email: str, lines: list[dict[str, Any]] | None = None) -> str:
        return (await self.checkout(email, lines))[0]

    async def checkout(
        self, email: str, lines: list[dict[str, Any]] | None = None
    ) -> tuple[str, str]:
        """Place an order; its id and the customer's order token."""
        body = {"email": email, "lines": lines or [{"sku": "hades", "qty": 1}]}
        answer = await self.http.post(f"{self.url['payments']}/orders", json=body)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["order_id"]), str(answer.json()["order_token"])

    async def seed(self, catalog: dict[str, tuple[str, str, str]]) -> None:
        """List each sku -> (Kinguin product id, price in usd, most paid to Kinguin)."""
        for sku, (product_id, price, maximum) in catalog.items():
            product = {
                "title": sku,
                "kinguin_product_id": product_id,
                "price": price,
                "currency": "usd",
                "max_purchase_price": maximum,
                "active": True,
            }
            seeded = await self.http.put(
                f"{self.url['payments']}/internal/products/{sku}",
                json=product,
                headers=self.running.internal,
            )
            assert seeded.status_code == 200, seeded.text

    async def nowpayments(self, method: str, path: str, body: object = None) -> Any:
        answer = await self.http.request(
            method, f"{self.url['nowpayments-sandbox']}{path}", json=body
        )
        assert answer.status_code < 300, answer.text
        return answer.json()

    async def invoice_of(self, order_id: str) -> dict[str, Any]:
        invoices = await self.nowpayments("GET", "/sandbox/invoices")
        [invoice] = [i for i in invoices if i["order_id"] == order_id]
        return dict(invoice)

    async def saga_state(self, order_id: str) -> str | None:
        answer = await self.http.get(
            f"{self.url['fulfillment']}/internal/sagas",
            params={"order_id": order_id},
            headers=self.running.internal,
        )
        items = answer.json()["items"]
        return str(items[0]["state"]) if items else None

    async def fulfilled(self, order_id: str, what: str) -> None:
        async def done() -> bool:
            return await self.saga_state(order_id) == "fulfilled"

        await wait_for(done, what, timeout=90)

    async def admin_session(self) -> dict[str, str]:
        """Headers of an admin's API session (the seeded "ops" account)."""
        login = await self.http.post(
            f"{self.url['admin']}/admin/login",
            json={
                "username": "ops",
                "password": self.running.keys.admin_password,
                "totp": authenticator(self.running.keys.admin_totp_secret).code(),
            },
        )
        assert login.status_code == 200, login.text
        return {"Authorization": f"Bearer {login.json()['token']}"}

    def delay_notices_to(self, address: str) -> list[str]:
        """Subjects of the "your order is delayed / a preorder" emails to `address`."""
        return self.subjects_to(address, "delayed")

    def subjects_to(self, address: str, kind: str) -> list[str]:
        """Subjects of the emails of `kind` (delivery's ``X-BitLoot-Email``) to `address`."""
        return [
            str(mail.message["Subject"])
            for mail in self.inbox.messages
            if address in mail.recipients and mail.message["X-BitLoot-Email"] == kind
        ]

    def key_emails_to(self, address: str) -> int:
        """Emails with a link to the keys sent to `address` (notices left out)."""
        return sum(len(self.subjects_to(address, kind)) for kind in KEY_EMAIL_KINDS)

    async def kinguin(self, method: str, path: str, body: object = None) -> Any:
        answer = await self.http.request(method, f"{self.url['kinguin-sandbox']}{path}", json=body)
        assert answer.status_code < 300, answer.text
        return answer.json()

    async def wait_state(self, order_id: str, state: str, what: str, timeout: float = 90) -> None:
        async def reached() -> bool:
            return await self.saga_state(order_id) == state

        await wait_for(reached, what, timeout=timeout)

    def emails_to(self, address: str) -> int:
        return sum(address in mail.recipients for mail in self.inbox.messages)

    async def kinguin_ledger(self, order_id: str) -> list[dict[str, Any]]:
        """The Kinguin sandbox's orders placed for `order_id` (under any external id)."""
        ledger = (await self.http.get(f"{self.url['kinguin-sandbox']}/sandbox/ledger")).json()
        entries = ledger["orders"] if isinstance(ledger, dict) else ledger
        return [e for e in entries if str(e["orderExternalId"]).startswith(order_id)]

    async def kinguin_orders(self, order_id: str) -> int:
        return len(await self.kinguin_ledger(order_id))

    async def live_kinguin_orders(self, order_id: str) -> list[dict[str, Any]]:
        """Those not canceled or refunded: never more than one per order."""
        return [
            e
            for e in await self.kinguin_ledger(order_id)
            if e["status"] not in ("canceled", "refunded")
        ]

    async def ipns(self, order_id: str) -> list[dict[str, Any]]:
        answer = await self.http.get(
            f"{self.url['payments']}/internal/ipns",
            params={"order_id": order_id},
            headers=self.running.internal,
        )
        return list(answer.json()["items"])
