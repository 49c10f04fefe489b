"""An order from payment to revealed key through five service processes, both provider
sandboxes, real RabbitMQ and PostgreSQL, moto's S3 server and aiosmtpd — and the key
Kinguin issued appears nowhere but on the reveal page: not on the bus, in any database,
in any log line, in the email or in the object store."""

from dataclasses import asdict

import httpx
import pytest
from five_processes import Servers, wait_for
from shop import reveal

from bitloot_launch.wiring import SANDBOXES
from bitloot_testing.bus import spy_on
from bitloot_testing.leaks import JWT, Needles, database_dump
from bitloot_testing.s3 import S3Server
from bitloot_testing.totp import authenticator

PRODUCT_ID = "5c9b5f6b2539a4e8f172916a"


async def bucket_dump(s3: S3Server, bucket: str) -> bytes:
    dump = b""
    async with s3.session().client("s3", endpoint_url=s3.endpoint_url) as client:
        listing = await client.list_objects_v2(Bucket=bucket)
        for item in listing.get("Contents", []):
            obj = await client.get_object(Bucket=bucket, Key=item["Key"])
            dump += await obj["Body"].read()
    return dump


async def assert_admin_sees_the_whole_order(
    http: httpx.AsyncClient, admin: str, order_id: str, password: str, totp: str
) -> None:
    """The admin's list shows the order fulfilled, and its timeline has every service."""
    code = authenticator(totp).code()
    body = {"username": "ops", "password": password, "totp": code}
    login = await http.post(f"{admin}/admin/login", json=body)
    assert login.status_code == 200, login.text
    session = {"Authorization": f"Bearer {login.json()['token']}"}
    listing = (await http.get(f"{admin}/admin/api/orders", headers=session)).json()
    assert listing["partial"] == []
    [row] = [item for item in listing["items"] if item["order_id"] == order_id]
    assert row["fulfillment_state"] == "fulfilled"
    detail = (await http.get(f"{admin}/admin/api/orders/{order_id}", headers=session)).json()
    assert detail["partial"] == []
    services = {event["service"] for event in detail["timeline"]}
    assert {"payments", "kinguin-gateway", "fulfillment", "delivery"} <= services, services
    times = [event["at"] for event in detail["timeline"]]
    assert times == sorted(times)


@pytest.mark.slow
async def test_a_paid_order_reveals_its_key_which_appears_nowhere_else(
    servers: Servers,
) -> None:
    bus_prefix, smtp_inbox = servers.bus_prefix, servers.smtp_inbox
    async with servers.start() as running:
        url, keys, databases, topology = (
            running.url,
            running.keys,
            running.databases,
            running.topology,
        )
        token = keys.internal_token
        async with (
            spy_on(bus_prefix.amqp_url, bus_prefix.prefix, topology.exchange.name) as spy,
            httpx.AsyncClient(timeout=10) as http,
        ):
            internal = {"Authorization": f"Bearer {token}"}
            product = {
                "title": "Hades (Steam)",
                "kinguin_product_id": PRODUCT_ID,
                "price": "24.99",
                "currency": "usd",
                "max_purchase_price": "20.00",
                "active": True,
            }
            seeded = await http.put(
                f"{url['payments']}/internal/products/hades", json=product, headers=internal
            )
            assert seeded.status_code == 200, seeded.text
            placed = await http.post(
                f"{url['payments']}/orders",
                json={"email": "Buyer@Example.com", "lines": [{"sku": "hades", "qty": 1}]},
            )
            assert placed.status_code == 201, placed.text
            order_id = placed.json()["order_id"]
            # The pattern the log scan below looks for does match a real token.
            assert JWT.search(placed.json()["order_token"].encode()) is not None

            async def email_arrived() -> bool:
                return len(smtp_inbox.messages) >= 1

            await wait_for(email_arrived, "the delivery email")
            [mail] = smtp_inbox.messages
            assert mail.recipients == ("buyer@example.com",)
            page = await reveal(http, mail)
            ledger = (await http.get(f"{url['kinguin-sandbox']}/sandbox/ledger")).json()
            entries = ledger["orders"] if isinstance(ledger, dict) else ledger
            [bought] = [e for e in entries if e["orderExternalId"] == order_id]
            issued = [str(key["serial"]) for key in bought["keys"]]
            assert len(issued) == 1
            assert issued[0] in page

            async def fulfilled() -> bool:
                answer = await http.get(
                    f"{url['fulfillment']}/internal/sagas",
                    params={"order_id": order_id},
                    headers=internal,
                )
                items = answer.json()["items"]
                return bool(items) and items[0]["state"] == "fulfilled"

            await wait_for(fulfilled, "order.fulfilled")
            await assert_admin_sees_the_whole_order(
                http, url["admin"], order_id, keys.admin_password, keys.admin_totp_secret
            )
            messages = await spy.collect(expected=0, timeout=2)
        topics = [m.routing_key for m in messages]
        for topic in (
            "payment.finished",
            "reservation.requested",
            "reservation.created",
            "kinguin.webhook",
            "keys.requested",
            "keys.delivered",
            "delivery.completed",
            "order.fulfilled",
        ):
            assert topic in topics, topics
        assert topics.count("order.fulfilled") == 1
        assert len(smtp_inbox.messages) == 1
        dumps = {
            "bus": b"\n".join(m.body + repr(m.headers).encode() for m in messages),
            "object store": await bucket_dump(servers.s3_server, servers.s3_bucket),
        }
        for service, database in databases.items():
            dumps[f"database {service}"] = await database_dump(database)
    # The processes have stopped: their logs are complete.
    logs = running.logs
    for name, log in logs.items():
        if name not in SANDBOXES:  # the sandboxes play Kinguin, which does know the key
            dumps[f"log {name}"] = log.read_bytes()
    # Mail is scanned as sent and decoded part by part (quoted-printable, base64).
    mails = [(f"email {n}", received.raw) for n, received in enumerate(smtp_inbox.messages)]
    for where, dump in [*dumps.items(), *mails]:
        assert dump, f"{where} is empty: the scan would prove nothing"
    needles = Needles({"the key": issued[0]})
    in_mail = [found for where, raw in mails for found in needles.find_in_mail(where, raw)]
    assert needles.find_all(dumps.items()) + in_mail == []
    # Nor does any service log a secret, or a token (a JWT) that grants access.
    for name, log in logs.items():
        if name in SANDBOXES:
            continue
        text = log.read_bytes()
        for secret_name, value in asdict(keys).items():
            if secret_name.endswith("public_key"):
                continue
            assert value.encode() not in text, f"{secret_name} leaked into the log of {name}"
        assert JWT.search(text) is None, f"a token leaked into the log of {name}"
