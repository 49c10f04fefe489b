"""An order Kinguin cannot sell (out of stock) fails; an admin delivers a key bought
elsewhere by hand, through the five service processes (real RabbitMQ, PostgreSQL, moto's
S3, aiosmtpd, both sandboxes): the customer, told of the failure and that their money
is owed back, then gets exactly one key email whose link reveals that key (and the
refund is canceled), a second attempt is refused, and the key appears nowhere else — not on the
bus, in any database, in any service's log, in the email or in the object store."""

import re

import httpx
import pytest
from five_processes import Running, Servers, wait_for
from shop import reveal
from test_order_to_key import bucket_dump

from bitloot_launch.wiring import SANDBOXES
from bitloot_testing.bus import spy_on
from bitloot_testing.leaks import Needles, database_dump
from bitloot_testing.smtp import ReceivedEmail, SmtpServer
from bitloot_testing.totp import authenticator

PRODUCT_ID = "5c9b5e5e2539a4e8f17270b0"  # the sandbox's Hollow Knight
KEY = "HAND-DLVR-7Q2M-XK4P-93ZT"


def kinds(inbox: SmtpServer, kind: str) -> list[ReceivedEmail]:
    """The emails of `kind` (delivery's ``X-BitLoot-Email`` header) the server accepted."""
    return [mail for mail in inbox.messages if mail.message["X-BitLoot-Email"] == kind]


async def saga_of(http: httpx.AsyncClient, running: Running, order_id: str) -> dict[str, object]:
    answer = await http.get(
        f"{running.url['fulfillment']}/internal/sagas",
        params={"order_id": order_id},
        headers=running.internal,
    )
    items: list[dict[str, object]] = answer.json()["items"]
    return items[0] if items else {}


async def failed_order(http: httpx.AsyncClient, running: Running) -> str:
    """A paid order of a product Kinguin has none of: it fails at reservation."""
    url = running.url
    sold_out = await http.post(
        f"{url['kinguin-sandbox']}/sandbox/products/{PRODUCT_ID}/stock", json={"stock": 0}
    )
    assert sold_out.status_code == 200, sold_out.text
    product = {
        "title": "Hollow Knight (Steam)",
        "kinguin_product_id": PRODUCT_ID,
        "price": "9.99",
        "currency": "usd",
        "max_purchase_price": "8.00",
        "active": True,
    }
    seeded = await http.put(
        f"{url['payments']}/internal/products/hollow", json=product, headers=running.internal
    )
    assert seeded.status_code == 200, seeded.text
    placed = await http.post(
        f"{url['payments']}/orders",
        json={"email": "buyer@example.com", "lines": [{"sku": "hollow", "qty": 1}]},
    )
    assert placed.status_code == 201, placed.text
    order_id: str = placed.json()["order_id"]

    async def failed() -> bool:
        return (await saga_of(http, running, order_id)).get("state") == "failed"

    await wait_for(failed, "the order failing at reservation")
    return order_id


@pytest.mark.slow
async def test_a_key_delivered_by_hand_reaches_the_customer_once_and_nowhere_else(
    servers: Servers,
) -> None:
    bus_prefix, smtp_inbox = servers.bus_prefix, servers.smtp_inbox
    async with servers.start() as running:
        exchange = running.topology.exchange.name
        async with (
            httpx.AsyncClient(timeout=10) as http,
            spy_on(bus_prefix.amqp_url, bus_prefix.prefix, exchange) as spy,
        ):
            order_id = await failed_order(http, running)
            admin = running.url["admin"]
            login = await http.post(
                f"{admin}/admin/login",
                json={
                    "username": "ops",
                    "password": running.keys.admin_password,
                    "totp": authenticator(running.keys.admin_totp_secret).code(),
                },
            )
            session = {"Authorization": f"Bearer {login.json()['token']}"}
            keys = {"keys": [{"serial": KEY, "type": "text/plain", "product_id": PRODUCT_ID}]}
            path = f"{admin}/admin/api/orders/{order_id}/deliver-keys"
            delivered = await http.post(path, json=keys, headers=session)
            assert delivered.status_code == 200, delivered.text
            again = await http.post(path, json=keys, headers=session)
            assert (again.status_code, again.json()["error"]) == (409, "already_delivered_by_hand")

            async def fulfilled() -> bool:
                return (await saga_of(http, running, order_id)).get("state") == "fulfilled"

            await wait_for(fulfilled, "order.fulfilled after the hand delivery")
            # The failure told the customer their money is owed back; the keys, once
            # delivered, cancel that refund (nothing was paid out).
            [notice] = kinds(smtp_inbox, "refund_due")
            assert notice.recipients == ("buyer@example.com",)
            [mail] = kinds(smtp_inbox, "delivery")
            assert mail.recipients == ("buyer@example.com",)

            async def refund_canceled() -> bool:
                answer = await http.get(
                    f"{running.url['payments']}/internal/refunds",
                    params={"order_id": order_id},
                    headers=running.internal,
                )
                return [r["status"] for r in answer.json()["items"]] == ["canceled"]

            await wait_for(refund_canceled, "the refund canceled by the delivered keys")
            page = await reveal(http, mail)
            assert KEY in page
            audit = await http.get(
                f"{admin}/admin/api/audit",
                params={"action": "keys_delivered_by_hand"},
                headers=session,
            )
            outcomes = [item["outcome"] for item in audit.json()["items"]]
            assert outcomes == ["already_delivered_by_hand", "ok"]
            messages = await spy.collect(expected=0, timeout=2)
        topics = [m.routing_key for m in messages]
        assert topics.count("keys.delivered") == 1
        assert "keys.requested" not in topics  # Kinguin was never asked for a key
        assert len(smtp_inbox.messages) == 2
        dumps = {
            "bus": b"\n".join(m.body + repr(m.headers).encode() for m in messages),
            "object store": await bucket_dump(servers.s3_server, servers.s3_bucket),
        }
        for service, database in running.databases.items():
            dumps[f"database {service}"] = await database_dump(database)
    for name, log in running.logs.items():
        if name not in SANDBOXES:
            dumps[f"log {name}"] = log.read_bytes()
    # Mail is scanned as sent and decoded part by part (quoted-printable, base64).
    mails = [(f"email {n}", received.raw) for n, received in enumerate(smtp_inbox.messages)]
    for where, dump in [*dumps.items(), *mails]:
        assert dump, f"{where} is empty: the scan would prove nothing"
    assert re.search(rb"keys delivered by hand", dumps["database fulfillment"])
    needles = Needles({"the key": KEY})
    in_mail = [found for where, raw in mails for found in needles.find_in_mail(where, raw)]
    assert needles.find_all(dumps.items()) + in_mail == []
