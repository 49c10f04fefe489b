"""Admin repairs are idempotent per request (issue #23): a hundred concurrent "resend
email" with one key send the customer one email, and a hundred concurrent replays of one
dead letter publish it once — through the admin and straight at the service — with the
five services running for real (RabbitMQ, PostgreSQL, SMTP, both sandboxes)."""

import asyncio
import uuid
from collections.abc import Awaitable

import httpx
from test_admin_ui import Services, fulfilled_order, parked_webhook, wait_for

from bitloot_launch import infra
from bitloot_launch.inprocess import ADMIN_USER, Stack
from bitloot_runtime.topology import Topology
from bitloot_testing.rabbitmq import BusNamespace
from bitloot_testing.totp import authenticator

CONCURRENT = 100
# Long enough for a second email or a second copy, had one been sent, to arrive.
SETTLE_SECONDS = 3.0


async def admin_session(http: httpx.AsyncClient, stack: Stack) -> dict[str, str]:
    login = await http.post(
        f"{stack.admin}/admin/login",
        json={
            "username": ADMIN_USER,
            "password": stack.admin_password,
            "totp": authenticator(stack.admin_totp_secret).code(),
        },
    )
    return {"Authorization": f"Bearer {login.json()['token']}"}


async def at_once(calls: list[Awaitable[httpx.Response]]) -> list[httpx.Response]:
    return list(await asyncio.gather(*calls))


def resends(mailbox: infra.Mailbox) -> int:
    return sum(1 for mail in mailbox.mails if mail.kind == "resend")


async def test_a_hundred_concurrent_resends_with_one_key_send_the_customer_one_email(
    stack: Stack, mailbox: infra.Mailbox
) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        services = Services(http, stack)
        order_id = await fulfilled_order(services)
        admin = await admin_session(http, stack)

        via_admin = f"{stack.admin}/admin/api/orders/{order_id}/resend-email"
        keyed = {**admin, "Idempotency-Key": str(uuid.uuid4())}
        answers = await at_once([http.post(via_admin, headers=keyed) for _ in range(CONCURRENT)])
        assert {a.status_code for a in answers} == {200}, answers[0].text
        assert len({a.content for a in answers}) == 1
        await wait_for(lambda: _at_least(mailbox, 1), "the resent email")
        await asyncio.sleep(SETTLE_SECONDS)
        assert resends(mailbox) == 1
        assert await audited(http, stack, admin, "email_resend") == 1

        direct = f"{stack.delivery}/internal/orders/{order_id}/emails"
        keyed = {**services.auth, "x-bitloot-actor": "ops", "Idempotency-Key": str(uuid.uuid4())}
        answers = await at_once([http.post(direct, headers=keyed) for _ in range(CONCURRENT)])
        assert {a.status_code for a in answers} == {202}
        assert len({a.content for a in answers}) == 1
        await wait_for(lambda: _at_least(mailbox, 2), "the second resent email")
        await asyncio.sleep(SETTLE_SECONDS)
        assert resends(mailbox) == 2


async def audited(http: httpx.AsyncClient, stack: Stack, admin: dict[str, str], action: str) -> int:
    """How many times the admin's audit recorded `action`: once per action done."""
    answer = await http.get(
        f"{stack.admin}/admin/api/audit", params={"action": action}, headers=admin
    )
    return len(answer.json()["items"])


async def consumed(services: Services, queue: str) -> float:
    """Every message fulfillment took from `queue`, handled or found a duplicate: each
    copy a replay published."""
    text = (await services.http.get(f"{services.stack.fulfillment}/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("bitloot_messages_consumed_total") and f'queue="{queue}"' in line
    )


async def _at_least(mailbox: infra.Mailbox, count: int) -> bool:
    return resends(mailbox) >= count


async def test_a_hundred_concurrent_replays_of_one_dead_letter_send_it_once(
    stack: Stack, bus_prefix: BusNamespace
) -> None:
    async with httpx.AsyncClient(timeout=60) as http:
        services = Services(http, stack)
        await fulfilled_order(services)
        admin = await admin_session(http, stack)
        queue = Topology(bus_prefix.prefix).queue_name("fulfillment", "kinguin.webhook")

        first = await parked_webhook(services, bus_prefix)
        [letter] = await services.parked(str(first.order_id))
        handled_before = await consumed(services, queue)
        via_admin = f"{stack.admin}/admin/api/dead-letters/fulfillment/{letter['id']}/replay"
        keyed = {**admin, "Idempotency-Key": str(uuid.uuid4())}
        answers = await at_once([http.post(via_admin, headers=keyed) for _ in range(CONCURRENT)])
        assert {a.status_code for a in answers} == {200}, answers[0].text
        assert {a.json()["result"]["replay_count"] for a in answers} == {1}
        await wait_for(lambda: _handled_more(services, queue, handled_before), "the replay")
        await asyncio.sleep(SETTLE_SECONDS)
        assert await consumed(services, queue) == handled_before + 1
        assert await audited(http, stack, admin, "dead_letter_replay") == 1

        # Another admin's request (a new key) for the same letter: refused, nothing sent.
        again = await http.post(via_admin, headers={**admin, "Idempotency-Key": str(uuid.uuid4())})
        assert (again.status_code, again.json()["error"]) == (409, "dead_letter_already_replayed")

        second = await parked_webhook(services, bus_prefix)
        [letter] = await services.parked(str(second.order_id))
        handled_before = await consumed(services, queue)
        direct = f"{stack.fulfillment}/internal/dead-letters/{letter['id']}/replay"
        keyed = {**services.auth, "Idempotency-Key": str(uuid.uuid4())}
        answers = await at_once([http.post(direct, headers=keyed) for _ in range(CONCURRENT)])
        assert {a.status_code for a in answers} == {200}
        assert {a.json()["replay_count"] for a in answers} == {1}
        await wait_for(lambda: _handled_more(services, queue, handled_before), "the replay")
        await asyncio.sleep(SETTLE_SECONDS)
        assert await consumed(services, queue) == handled_before + 1


async def _handled_more(services: Services, queue: str, before: float) -> bool:
    return await consumed(services, queue) > before
