"""keys.delivered on the real bus: stored once, encrypted, one email with a link only."""

import asyncio
import base64
import json
import logging
from uuid import uuid4

import httpx
import pytest
from delivery_support import (
    IMAGE_BYTES,
    TEXT_KEY,
    Running,
    bus_spy,
    email_text,
    keys_delivered,
    keys_emailed,
    link_path,
    publish,
)
from sqlalchemy import func, select

from bitloot_delivery.adapters.orm import delivered_keys, deliveries, emails, metadata
from bitloot_runtime import sealing
from bitloot_testing.bus import eventually
from bitloot_testing.rabbitmq import BusNamespace
from bitloot_testing.s3 import S3Server
from bitloot_testing.smtp import SmtpServer

PLAINTEXTS = (TEXT_KEY.encode(), IMAGE_BYTES, base64.b64encode(IMAGE_BYTES))


async def test_keys_delivered_twice_store_one_delivery_and_send_one_link_email(
    delivery: Running, bus_prefix: BusNamespace, smtp_inbox: SmtpServer
) -> None:
    event = keys_delivered(delivery.public_key)
    async with bus_spy(delivery, bus_prefix) as spy:
        await publish(delivery.runtime, event)
        [received] = await smtp_inbox.wait_for(1)
        await publish(delivery.runtime, event.model_copy(update={"event_id": uuid4()}))
        messages = await spy.collect(expected=3, timeout=10)
    completed = [m for m in messages if m.routing_key == "delivery.completed"]
    assert len(completed) == 1
    assert json.loads(completed[0].body)["key_count"] == 2
    assert received.recipients == ("buyer@example.com",)
    assert link_path(received.message).startswith("/keys/")
    assert TEXT_KEY not in email_text(received.message)
    await asyncio.sleep(1.0)  # room for a second email, were one to be sent
    assert len(smtp_inbox.messages) == 1
    async with delivery.runtime.engine.connect() as connection:
        assert await connection.scalar(select(func.count()).select_from(deliveries)) == 1
        assert await connection.scalar(select(func.count()).select_from(emails)) == 1
        metadata_rows = (await connection.execute(select(delivered_keys))).mappings().all()
    assert [(r["position"], r["key_type"]) for r in metadata_rows] == [
        (0, "text/plain"),
        (1, "image/png"),
    ]


async def test_no_table_and_no_object_holds_a_plaintext_key(
    delivery: Running, s3_server: S3Server, s3_bucket: str, smtp_inbox: SmtpServer
) -> None:
    event, _ = await keys_emailed(delivery, smtp_inbox)
    async with s3_server.session().client("s3", endpoint_url=s3_server.endpoint_url) as s3:
        listed = await s3.list_objects_v2(Bucket=s3_bucket)
        assert [o["Key"] for o in listed["Contents"]] == [f"orders/{event.order_id}/keys.bin"]
        stored = await (await s3.get_object(Bucket=s3_bucket, Key=listed["Contents"][0]["Key"]))[
            "Body"
        ].read()
    assert not any(plain in stored for plain in PLAINTEXTS)
    async with delivery.runtime.engine.connect() as connection:
        for table in metadata.sorted_tables:
            for row in (await connection.execute(select(table))).all():
                for value in row:
                    raw = value if isinstance(value, bytes) else str(value).encode()
                    assert not any(plain in raw for plain in PLAINTEXTS), table.name


async def test_keys_sealed_to_another_key_are_parked_not_retried(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    _, other_public_key = sealing.generate_key_pair()
    await publish(delivery.runtime, keys_delivered(other_public_key))

    async def parked() -> bool:
        return len(await delivery.runtime.dead_letters.list()) == 1

    assert await eventually(parked)
    [letter] = await delivery.runtime.dead_letters.list()
    assert letter.reason == "permanent"
    assert letter.attempts == 1
    assert letter.error.startswith("cannot_unseal")
    assert smtp_inbox.messages == []


async def test_no_log_record_and_no_email_ever_holds_a_plaintext_key(
    delivery: Running, smtp_inbox: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _, received = await keys_emailed(delivery, smtp_inbox)
    transport = httpx.ASGITransport(app=delivery.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        revealed = await http.get(link_path(received.message))
        await http.post(f"{link_path(received.message)}/fresh-link")
    assert TEXT_KEY in revealed.text  # the page, and only the page, shows it
    await smtp_inbox.wait_for(2)
    texts = [email_text(email.message) for email in smtp_inbox.messages]
    texts += [repr(record.__dict__) + record.getMessage() for record in caplog.records]
    assert len(caplog.records) > 3
    for text in texts:
        assert not any(plain.decode(errors="ignore") in text for plain in PLAINTEXTS)
