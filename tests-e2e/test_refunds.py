"""A paid order that cannot be fulfilled ends with the customer's money back, through
five service processes, both sandboxes, real RabbitMQ, PostgreSQL and SMTP:

Kinguin refuses the purchase (sold out) → the order fails → the customer is emailed
once, in plain words, with a claim link → the claim page refuses a broken address and
takes a good one → an admin approves → NOWPayments pays exactly once → the customer is
emailed once more, with the transaction id. At every step the customer's order page,
and the admin, say the same status. The witnesses are the SMTP server's inbox and the
NOWPayments sandbox's payout ledger, not the services' own word.
"""

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from five_processes import SHORT_SETTINGS, Servers, wait_for
from shop import Shop

HADES = "5c9b5f6b2539a4e8f172916a"
KINGUIN_PRODUCTS = {
    HADES: {"name": "Hades Steam CD Key", "price": "2.50", "stock": 1000, "kinguinId": 1949},
}
CATALOG = {"hades": (HADES, "24.99", "20.00")}
CLAIM_LINK = re.compile(r"https?://\S+/refunds/claim\?token=[A-Za-z0-9._~%-]+")
# The sandbox's customers pay in USDT on TRON. A real TRON address (base58check), and the
# same with its last character changed (its checksum fails).
GOOD_TRON = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
BAD_TRON = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u"
ADDRESS = "refund@example.com"


def claim_link(shop: Shop) -> str:
    [mail] = [
        m
        for m in shop.inbox.messages
        if ADDRESS in m.recipients and m.message["X-BitLoot-Email"] == "refund_due"
    ]
    body = mail.message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    found = CLAIM_LINK.search(text)
    assert found is not None, text
    return found.group(0)


async def customer_status(shop: Shop, order_id: str, token: str) -> str:
    answer = await shop.http.get(
        f"{shop.url['payments']}/orders/{order_id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["customer_status"])


async def admin_refund(shop: Shop, session: dict[str, str], order_id: str) -> dict[str, Any]:
    answer = await shop.http.get(
        f"{shop.url['admin']}/admin/api/refunds", params={"order_id": order_id}, headers=session
    )
    assert answer.status_code == 200, answer.text
    [refund] = answer.json()["items"]
    return dict(refund)


async def payouts_for(shop: Shop, refund_id: int) -> list[dict[str, Any]]:
    """The NOWPayments sandbox's withdrawals made for the refund (any attempt)."""
    ledger = await shop.nowpayments("GET", "/sandbox/payouts")
    batches = ledger["batches"] if isinstance(ledger, dict) else ledger
    return [
        withdrawal
        for batch in batches
        for withdrawal in batch["withdrawals"]
        if str(withdrawal.get("unique_external_id", "")).startswith(f"refund-{refund_id}")
    ]


@pytest.mark.slow
async def test_an_unfulfillable_order_is_refunded_once_and_the_customer_told_twice(
    servers: Servers,
) -> None:
    async with (
        servers.start(SHORT_SETTINGS, {"PRODUCTS": json.dumps(KINGUIN_PRODUCTS)}) as running,
        httpx.AsyncClient(timeout=15) as http,
    ):
        shop = Shop(running, http, servers.smtp_inbox)
        await shop.seed(CATALOG)
        session = await shop.admin_session()
        await shop.kinguin("POST", "/sandbox/faults", {"out_of_stock": [HADES]})
        order_id, token = await shop.checkout(ADDRESS)
        await shop.wait_state(order_id, "failed", "the sold-out order failing")
        assert await shop.kinguin_orders(order_id) == 0

        async def told() -> bool:
            return len(shop.subjects_to(ADDRESS, "refund_due")) == 1

        await wait_for(told, "the refund-due email")
        assert await customer_status(shop, order_id, token) == "refund_due"
        link = claim_link(shop)
        page = await http.get(link)
        assert page.status_code == 200, page.text
        assert page.headers["cache-control"] == "no-store"
        refund = await admin_refund(shop, session, order_id)
        assert refund["status"] == "due"
        assert refund["currency"] == "usdttrc20"
        assert f"{refund['amount']} USDTTRC20" in page.text

        [claim_token] = parse_qs(urlsplit(link).query)["token"]
        refused = await http.post(
            f"{shop.url['payments']}/refunds/claim",
            data={"token": claim_token, "address": BAD_TRON},
            headers={"Accept": "application/json"},
        )
        assert refused.status_code == 422, refused.text
        assert (await admin_refund(shop, session, order_id))["status"] == "due"
        claimed = await http.post(
            f"{shop.url['payments']}/refunds/claim",
            data={"token": claim_token, "address": GOOD_TRON},
        )
        assert claimed.status_code == 200, claimed.text
        assert await customer_status(shop, order_id, token) == "refund_claimed"

        approved = await http.post(
            f"{shop.url['admin']}/admin/api/refunds/{refund['id']}/approve",
            json={"note": "Sold out at Kinguin; checked."},
            headers=session,
        )
        assert approved.status_code == 200, approved.text

        async def sent() -> bool:
            return bool((await admin_refund(shop, session, order_id))["status"] == "sent")

        await wait_for(sent, "the payout finishing", timeout=90)

        async def receipted() -> bool:
            return len(shop.subjects_to(ADDRESS, "refund_sent")) == 1

        await wait_for(receipted, "the refund-sent email")
        done = await admin_refund(shop, session, order_id)
        [payout] = await payouts_for(shop, int(done["id"]))
        assert payout["address"] == GOOD_TRON
        assert payout["hash"]
        assert done["transaction_id"] == payout["hash"]
        [receipt] = [
            m
            for m in shop.inbox.messages
            if ADDRESS in m.recipients and m.message["X-BitLoot-Email"] == "refund_sent"
        ]
        receipt_body = receipt.message.get_body(preferencelist=("plain",))
        assert receipt_body is not None
        assert done["transaction_id"] in receipt_body.get_content()
        assert await customer_status(shop, order_id, token) == "refunded"
        # Once each, and never a key.
        assert shop.key_emails_to(ADDRESS) == 0
        assert len(shop.subjects_to(ADDRESS, "refund_due")) == 1
        assert len(await payouts_for(shop, int(done["id"]))) == 1
