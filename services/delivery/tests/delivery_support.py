"""Helpers of the delivery tests: the service's settings, sealed keys as the gateway
seals them, publishing events as their producers would, an SMTP server that loses the
connection on purpose, and a stored delivery with its email and what came of it."""

import asyncio
import base64
import contextlib
import json
import os
import re
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from email.message import EmailMessage
from uuid import UUID, uuid4

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from bitloot_contracts.events import (
    Event,
    KeysDelivered,
    OrderDelayed,
    OrderLine,
    PaymentFinished,
    RefundStatusChanged,
)
from bitloot_delivery.adapters.orm import emails
from bitloot_delivery.adapters.unit_of_work import DeliveryUnitOfWork
from bitloot_delivery.bootstrap import build
from bitloot_delivery.domain.keys import DeliveredKey
from bitloot_delivery.domain.links import ClaimLinks, RevealLinks
from bitloot_delivery.handlers.ports import NewDelivery
from bitloot_delivery.settings import Settings
from bitloot_runtime import sealing
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.settings import load_settings
from bitloot_runtime.tables import inbox, outbox
from bitloot_runtime.tokens import (
    ClaimTokenSigner,
    ClaimTokenVerifier,
    OrderTokenSigner,
    generate_key_pair,
    load_private_key,
    parse_public_keys,
)
from bitloot_testing.bus import Spy, eventually, spy_on
from bitloot_testing.net import free_port
from bitloot_testing.rabbitmq import BusNamespace
from bitloot_testing.s3 import S3Server
from bitloot_testing.smtp import ReceivedEmail, SmtpServer

INTERNAL_TOKEN = "delivery-test-internal-token"
LINK_SECRET = "delivery-test-link-secret-of-32-characters!"
PUBLIC_URL = "http://delivery.test"
TEXT_KEY = "ZXQ7R-PLAIN-TEXT-KEY-4K9M2"
IMAGE_BYTES = b"\x89PNG\r\n\x1a\nnot-really-a-png-but-bytes"
# The Kinguin products of the two keys of `keys_document`.
TEXT_PRODUCT = "5c9b"
IMAGE_PRODUCT = "77aa"
_ORDER_TOKEN_PRIVATE, ORDER_TOKEN_PUBLIC = generate_key_pair()
ORDER_TOKENS = OrderTokenSigner("p1", load_private_key(_ORDER_TOKEN_PRIVATE), timedelta(hours=1))
# Delivery signs refund claim links with the private half; payments verifies with this.
CLAIM_TOKEN_PRIVATE, CLAIM_TOKEN_PUBLIC = generate_key_pair()
CLAIM_URL = "http://payments.test/refunds/claim"
CLAIM_VERIFIER = ClaimTokenVerifier(parse_public_keys(f"c1:{CLAIM_TOKEN_PUBLIC}"))
# The reveal links the service issues on the test settings (a link lives 15 minutes).
LINKS = RevealLinks(LINK_SECRET, timedelta(minutes=15))
CLAIM_LINKS = ClaimLinks(
    ClaimTokenSigner("c1", load_private_key(CLAIM_TOKEN_PRIVATE), timedelta(days=7)), CLAIM_URL
)


@dataclass(frozen=True)
class Running:
    """The delivery service started for one test, and the public key to seal to."""

    runtime: ServiceRuntime
    app: Starlette
    settings: Settings
    public_key: str


def settings_for(
    *,
    database_url: str,
    bus: BusNamespace,
    s3: S3Server,
    bucket: str,
    smtp: SmtpServer,
    hpke_private_key: str,
    **overrides: object,
) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "amqp_url": bus.amqp_url,
        "bus_prefix": bus.prefix,
        "retry_delays": (0.2, 0.5, 1.0),
        "outbox_poll_interval": 0.2,
        "internal_token": INTERNAL_TOKEN,
        "hpke_private_keys": f"d1:{hpke_private_key}",
        "kek_current_id": "k1",
        "keks": f"k1:{base64.b64encode(os.urandom(32)).decode()}",
        "s3_endpoint_url": s3.endpoint_url,
        "s3_region": s3.region,
        "s3_bucket": bucket,
        "s3_access_key_id": s3.access_key_id,
        "s3_secret_access_key": s3.secret_access_key,
        "smtp_host": smtp.host,
        "smtp_port": smtp.port,
        "mail_from": "keys@bitloot.test",
        "public_url": PUBLIC_URL,
        "link_secret": LINK_SECRET,
        "order_token_public_keys": f"p1:{ORDER_TOKEN_PUBLIC}",
        "claim_token_private_key": CLAIM_TOKEN_PRIVATE,
        "refund_claim_url": CLAIM_URL,
        **overrides,
    }
    return load_settings(Settings, **values)


def keys_document() -> bytes:
    image = base64.b64encode(IMAGE_BYTES).decode()
    return json.dumps(
        {
            "keys": [
                {"type": "text/plain", "value": TEXT_KEY, "product_id": TEXT_PRODUCT},
                {"type": "image/png", "value": image, "product_id": IMAGE_PRODUCT},
            ]
        }
    ).encode()


def keys_delivered(
    public_key: str, order_id: UUID | None = None, *, key_count: int = 2
) -> KeysDelivered:
    order_id = order_id or uuid4()
    sealed = sealing.seal(keys_document(), sealing.load_public_key(public_key), "d1", order_id)
    return KeysDelivered(
        order_id=order_id,
        kinguin_order_id="K-1",
        customer_email="buyer@example.com",
        key_count=key_count,
        sealed=sealed,
    )


def payment_finished(
    order_id: UUID,
    *,
    text_title: str | None = "Hollow Knight",
    text_platform: str | None = "Steam",
    image_title: str | None = "Celeste",
    image_platform: str | None = None,
) -> PaymentFinished:
    """payment.finished as payments emits it for the order of `keys_document`'s keys."""

    def line(product: str, title: str | None, platform: str | None) -> OrderLine:
        return OrderLine(
            sku=f"sku-{product}",
            kinguin_product_id=product,
            qty=1,
            max_unit_price=Decimal("20"),
            title=title,
            platform=platform,
        )

    return PaymentFinished(
        order_id=order_id,
        payment_id="p-1",
        amount=Decimal("25.50"),
        currency="usd",
        customer_email="buyer@example.com",
        lines=(
            line(TEXT_PRODUCT, text_title, text_platform),
            line(IMAGE_PRODUCT, image_title, image_platform),
        ),
    )


def order_delayed(
    order_id: UUID | None = None, *, is_preorder: bool = False, release_date: date | None = None
) -> OrderDelayed:
    """order.delayed as fulfillment emits it at the order's deadline."""
    return OrderDelayed(
        order_id=order_id or uuid4(),
        customer_email="buyer@example.com",
        is_preorder=is_preorder,
        release_date=release_date,
    )


def refund_changed(
    order_id: UUID | None = None, *, refund_id: int = 1, status: str = "due", **changes: object
) -> RefundStatusChanged:
    """refund.status_changed as payments emits it (an out-of-stock order by default)."""
    values: dict[str, object] = {
        "order_id": order_id or uuid4(),
        "refund_id": refund_id,
        "status": status,
        "reason": "order_failed",
        "cause": "reservation",
        "amount": Decimal("0.00123"),
        "currency": "btc",
        "customer_email": "buyer@example.com",
        **changes,
    }
    return RefundStatusChanged.model_validate(values)


def claim_token(message: EmailMessage) -> str:
    """The claim token of the claim link in an email's text part."""
    return _found(message, re.escape(CLAIM_URL) + r"\?token=([A-Za-z0-9._-]+)", "claim link")


def _found(message: EmailMessage, pattern: str, what: str) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert isinstance(body, EmailMessage)
    match = re.search(pattern, body.get_content())
    assert match is not None, f"no {what} in the email"
    return match.group(1)


async def publish(runtime: ServiceRuntime, event: Event) -> None:
    await runtime.publisher.publish(event)


def client(
    delivery: Running, token: str | None = None, ip: str = "203.0.113.7"
) -> httpx.AsyncClient:
    """A client of `delivery`'s app, from `ip`, with `token` as its bearer credential."""
    transport = httpx.ASGITransport(app=delivery.app, client=(ip, 4711))
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers)


# Room for a second email or event, were one to be sent.
GRACE = 1.0


async def until_handled(delivery: Running, event: Event, grace: float = 0.0) -> None:
    """Once delivery has consumed `event` (its inbox holds the message id), and `grace`
    seconds more."""

    async def handled() -> bool:
        async with delivery.runtime.engine.connect() as connection:
            query = select(func.count()).where(inbox.c.message_id == str(event.event_id))
            return bool(await connection.scalar(query))

    assert await eventually(handled)
    await asyncio.sleep(grace)


def bus_spy(delivery: Running, bus: BusNamespace) -> AbstractAsyncContextManager[Spy]:
    """A spy on every message published on `delivery`'s exchange."""
    return spy_on(bus.amqp_url, bus.prefix, delivery.runtime.topology.exchange.name)


async def keys_emailed(delivery: Running, smtp: SmtpServer) -> tuple[KeysDelivered, ReceivedEmail]:
    """Keys delivered for a new order, and the keys email once the SMTP server has it."""
    event = keys_delivered(delivery.public_key)
    await publish(delivery.runtime, event)
    [email] = await smtp.wait_for(1)
    return event, email


async def delivered(delivery: Running, smtp: SmtpServer) -> tuple[UUID, EmailMessage]:
    """An order whose keys are stored and whose keys email went out, and that email; the
    sender has recorded it sent (the SMTP server holds it a moment before that commits)."""
    [order_id] = await delivered_many(delivery, smtp, 1)
    [email] = smtp.messages
    return order_id, email.message


async def delivered_many(delivery: Running, smtp: SmtpServer, count: int) -> list[UUID]:
    """`count` orders delivered as `delivered` does, in the order published. Until the
    sender has recorded an email sent it holds the order's delivery row, which sweeps
    skip (FOR UPDATE SKIP LOCKED): this returns only once every one is recorded."""
    events = [keys_delivered(delivery.public_key) for _ in range(count)]
    for event in events:
        await publish(delivery.runtime, event)
    await smtp.wait_for(count)
    order_ids = [event.order_id for event in events]

    async def recorded_sent() -> bool:
        async with delivery.runtime.engine.connect() as connection:
            query = select(func.count()).where(
                emails.c.order_id.in_(order_ids), emails.c.status == "sent"
            )
            return (await connection.scalar(query)) == count

    assert await eventually(recorded_sent), "the key emails were not recorded as sent"
    return order_ids


StartDelivery = Callable[..., AbstractAsyncContextManager[Running]]
"""The `delivery_with` fixture: starts the service with some settings changed."""


@asynccontextmanager
async def started(settings: Settings, bus: BusNamespace, public_key: str) -> AsyncIterator[Running]:
    """The delivery service running on `settings` (its queues removed after the test)."""
    runtime, app = build(settings)
    bus.track_services(["delivery"], settings.retry_delays)
    await runtime.start()
    try:
        yield Running(runtime, app, settings, public_key)
    finally:
        await runtime.stop()


def link_path(message: EmailMessage) -> str:
    """The path of the reveal link in an email's text part."""
    return _found(message, re.escape(PUBLIC_URL) + r"(/keys/[A-Za-z0-9._-]+)", "reveal link")


def email_parts(message: EmailMessage) -> tuple[str, str]:
    """An email's text part and its HTML part, decoded."""
    text = message.get_body(preferencelist=("plain",))
    markup = message.get_body(preferencelist=("html",))
    assert isinstance(text, EmailMessage)
    assert isinstance(markup, EmailMessage)
    return text.get_content(), markup.get_content()


def email_text(message: EmailMessage) -> str:
    """Every part of an email, decoded, as one string (to look for what must not be there)."""
    parts = [message.as_string()]
    for part in message.walk():
        if isinstance(part, EmailMessage) and part.get_content_maintype() == "text":
            parts.append(part.get_content())
    return "\n".join(parts)


async def run_command(settings: Settings, *args: str, **changes: object) -> tuple[str, str]:
    """``python -m bitloot_delivery *args`` on `settings` (with `changes`), passed as the
    DELIVERY_* variables a child process reads: its output and its errors, once it has
    exited 0."""
    env = dict(os.environ)
    for name, value in {**settings.model_dump(), **changes}.items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, tuple):
            value = ",".join(str(item) for item in value)
        env[f"DELIVERY_{name.upper()}"] = (
            str(value).lower() if isinstance(value, bool) else str(value)
        )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bitloot_delivery",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    return stdout.decode(), stderr.decode()


class _CutOff:
    """An aiosmtpd handler that takes each message, then drops the connection before it
    answers (`at="DATA"`), or drops it when the recipient is named (`at="RCPT"`)."""

    def __init__(self, at: str, taken: list[bytes]) -> None:
        self._at = at
        self._taken = taken

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self._at == "RCPT":
            server.transport.abort()  # type: ignore[union-attr]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self._taken.append(bytes(envelope.original_content or b""))
        server.transport.abort()  # type: ignore[union-attr]
        return "250 Message accepted for delivery"  # never reaches the client


@contextmanager
def cut_off_smtp(at: str) -> Iterator[tuple[int, list[bytes]]]:
    """An SMTP server that loses the connection `at` a stage; its port, and the messages
    it took (the client never hears that it did)."""
    taken: list[bytes] = []
    with smtp_handled_by(_CutOff(at, taken)) as port:
        yield port, taken


@contextmanager
def smtp_handled_by(handler: object) -> Iterator[int]:
    """An aiosmtpd server on 127.0.0.1 with `handler`, until the block ends: its port."""
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


async def stored_delivery(engine: AsyncEngine) -> UUID:
    """A stored delivery of one key, its one delivery email queued."""
    order_id = uuid4()
    async with DeliveryUnitOfWork(engine) as uow:
        await uow.deliveries.add(
            NewDelivery(order_id, "buyer@example.com", "K-1", "k1", b"wrapped", "o/k.bin", 1),
            [DeliveredKey("text/plain", "unused", "5c9b")],
        )
        await uow.commit()
    return order_id


async def the_email(engine: AsyncEngine, kind: str | None = "delivery") -> dict[str, object]:
    """The one email row of `kind` (None: the table's one row, whatever its kind)."""
    async with engine.connect() as connection:
        query = select(emails) if kind is None else select(emails).where(emails.c.kind == kind)
        return dict((await connection.execute(query)).mappings().one())


async def completions(engine: AsyncEngine) -> list[tuple[str, bool]]:
    """Every delivery.completed in the outbox: (order id, email_sent)."""
    async with engine.connect() as connection:
        query = select(outbox.c.body).where(outbox.c.topic == "delivery.completed")
        bodies = [json.loads(body) for body in (await connection.execute(query)).scalars()]
    return [(body["order_id"], body["email_sent"]) for body in bodies]


@asynccontextmanager
async def running(loop: Coroutine[object, object, None]) -> AsyncIterator[None]:
    """`loop` runs as a task for the block and is cancelled after it."""
    task = asyncio.create_task(loop)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
