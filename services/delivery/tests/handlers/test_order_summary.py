"""payment.finished: delivery keeps what the order is, and the key email names it (issue
#21): the order number, products, amount, link lifetime and support address, in the text
and the HTML part of the message the mail server received. Without a summary the email
still goes out, naming the order only."""

import json
from decimal import Decimal
from uuid import uuid4

from delivery_support import (
    IMAGE_PRODUCT,
    TEXT_PRODUCT,
    Running,
    StartDelivery,
    email_parts,
    keys_delivered,
    keys_emailed,
    payment_finished,
    publish,
    until_handled,
)
from sqlalchemy import select

from bitloot_delivery.adapters.orm import order_summaries
from bitloot_delivery.adapters.summaries import parse_summary
from bitloot_delivery.domain.summaries import OrderSummary, SummaryLine
from bitloot_testing.smtp import SmtpServer

SUPPORT = "help@bitloot.test"


async def stored_summary(delivery: Running) -> OrderSummary | None:
    async with delivery.runtime.engine.connect() as connection:
        return parse_summary(await connection.scalar(select(order_summaries.c.summary)))


async def test_payment_finished_is_kept_as_the_order_summary_once(delivery: Running) -> None:
    event = payment_finished(uuid4())
    await publish(delivery.runtime, event)
    # The copy after the first is handled: two in flight at once may be handled in
    # either order, and "the first kept" would be a race.
    await until_handled(delivery, event)
    again = event.model_copy(update={"event_id": uuid4(), "amount": Decimal(99)})
    await publish(delivery.runtime, again)
    await until_handled(delivery, again)
    assert await stored_summary(delivery) == OrderSummary(
        Decimal("25.50"),
        "usd",
        (
            SummaryLine(TEXT_PRODUCT, 1, "Hollow Knight", "Steam"),
            SummaryLine(IMAGE_PRODUCT, 1, "Celeste", None),
        ),
    )


async def test_a_version_1_payment_finished_is_kept_without_titles(delivery: Running) -> None:
    event = payment_finished(uuid4())
    body = json.loads(event.model_dump_json())
    body["schema_version"] = 1
    for line in body["lines"]:
        del line["title"], line["platform"]
    await delivery.runtime.publisher.publish_event(
        topic=event.topic,
        body=json.dumps(body).encode(),
        message_id=str(event.event_id),
        order_id=str(event.order_id),
        headers={},
    )
    await until_handled(delivery, event)
    summary = await stored_summary(delivery)
    assert summary is not None
    assert [(line.title, line.platform) for line in summary.lines] == [(None, None)] * 2


async def test_the_key_email_names_order_products_amount_lifetime_and_support(
    delivery_with: StartDelivery, smtp_inbox: SmtpServer
) -> None:
    order_id = uuid4()
    async with delivery_with(support_email=SUPPORT) as delivery:
        finished = payment_finished(order_id)
        await publish(delivery.runtime, finished)
        await until_handled(delivery, finished)
        await publish(delivery.runtime, keys_delivered(delivery.public_key, order_id))
        [email] = await smtp_inbox.wait_for(1)
    text, markup = email_parts(email.message)
    for part in (text, markup):
        assert str(order_id) in part
        assert "Hollow Knight" in part
        assert "Celeste" in part
        assert "25.5 USD" in part
        assert "15 minutes" in part
        assert SUPPORT in part
    assert "Steam" in text


async def test_without_a_summary_the_key_email_still_goes_out_naming_the_order(
    delivery: Running, smtp_inbox: SmtpServer
) -> None:
    event, email = await keys_emailed(delivery, smtp_inbox)
    text, markup = email_parts(email.message)
    for part in (text, markup):
        assert str(event.order_id) in part
        assert "support@bitloot.io" in part
        assert "Amount paid" not in part
        assert "Hollow Knight" not in part
