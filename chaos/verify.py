"""After the storm: what every invariant of ARCHITECTURE.md §3 says must hold, checked
against what each witness recorded (the services' own APIs, the Kinguin sandbox's
ledger, the SMTP server's mailbox, the bus, the databases, the logs, the object store).
"""

import asyncio
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import aioboto3
import httpx

from bitloot_demo import infra
from bitloot_demo.processes import SERVICES, Secrets
from bitloot_demo.scenario import emailed_link
from bitloot_testing.leaks import JWT, Needles, database_dump
from chaos.stack import ChaosStack, Tapped, drain_tap

TERMINAL = frozenset({"fulfilled", "failed", "refunded"})


@dataclass
class Check:
    name: str
    expected: str
    found: str
    ok: bool
    details: list[str] = field(default_factory=list)


async def saga_states(
    http: httpx.AsyncClient, stack: ChaosStack, order_ids: list[str]
) -> dict[str, str]:
    """Each order's saga state, as fulfillment's internal API reports it."""
    states: dict[str, str] = {}
    for start in range(0, len(order_ids), 50):
        params: list[tuple[str, str | int | float | bool | None]] = [("limit", 100)]
        params += [("order_id", order_id) for order_id in order_ids[start : start + 50]]
        answer = await http.get(
            f"{stack.url('fulfillment')}/internal/sagas", params=params, headers=stack.internal
        )
        answer.raise_for_status()
        states.update({item["order_id"]: item["state"] for item in answer.json()["items"]})
    return states


async def ledger(http: httpx.AsyncClient, stack: ChaosStack) -> list[dict[str, Any]]:
    answer = await http.get(f"{stack.url('kinguin-sandbox')}/sandbox/ledger")
    answer.raise_for_status()
    entries: list[dict[str, Any]] = answer.json()
    return entries


async def parked(http: httpx.AsyncClient, stack: ChaosStack) -> list[dict[str, Any]]:
    """Every message parked and not replayed, in every service, with its service."""
    found: list[dict[str, Any]] = []
    for service in SERVICES:
        answer = await http.get(
            f"{stack.url(service)}/internal/dead-letters",
            params={"limit": 100},
            headers=stack.internal,
        )
        answer.raise_for_status()
        found += [{**item, "service": service} for item in answer.json()["items"]]
    return found


def orders_check(emails: dict[str, str], states: dict[str, str]) -> Check:
    counts = Counter(
        states.get(order_id, "no saga (payment never finished)") for order_id in emails
    )
    fulfilled = counts.pop("fulfilled", 0)
    return Check(
        "every order fulfilled",
        f"{len(emails)} fulfilled",
        f"{fulfilled} fulfilled" + "".join(f", {n} {state}" for state, n in counts.items()),
        fulfilled == len(emails) > 0,
        [f"{o}: {states.get(o)}" for o in emails if states.get(o) != "fulfilled"][:10],
    )


def ledger_check(emails: dict[str, str], entries: list[dict[str, Any]]) -> Check:
    per_order = Counter(str(entry["orderExternalId"]) for entry in entries)
    missing = [order_id for order_id in emails if per_order[order_id] == 0]
    twice = [order_id for order_id, n in per_order.items() if n > 1]
    strangers = [order_id for order_id in per_order if order_id not in emails]
    retried = sum(int(entry.get("duplicate_attempts", 0)) for entry in entries)
    return Check(
        "one Kinguin order per order (sandbox ledger)",
        f"{len(emails)} orders, none twice",
        f"{len(entries)} orders, {len(twice)} twice, {len(missing)} missing"
        f" ({retried} purchase requests repeated an order id)",
        not missing and not twice and not strangers,
        [f"bought twice: {o}" for o in twice] + [f"not bought: {o}" for o in missing][:10],
    )


def distinct_key_emails(mails: Iterable[infra.Mail]) -> Counter[str]:
    """Key emails per recipient, counting a message once however many copies arrived
    with its Message-ID: an attempt cut during SMTP DATA is sent once more with the
    same Message-ID, which mail systems collapse into one email. Notices (delayed,
    refund) are not key emails."""
    ids: dict[str, set[str]] = {}
    for mail in mails:
        if not mail.is_key_email:
            continue
        message_id = str(mail.message["Message-ID"] or id(mail))
        for recipient in mail.recipients:
            ids.setdefault(recipient, set()).add(message_id)
    return Counter({recipient: len(found) for recipient, found in ids.items()})


def emails_check(
    emails: dict[str, str], received: Counter[str], unconfirmed: set[str] | None = None
) -> Check:
    """One email per order. An email whose connection was lost while the mail server
    took it is `unconfirmed` in delivery's email log: never sent again by itself (it may
    have arrived), shown to admins to resend. Such an order may have one email or none,
    never two; it is listed."""
    doubtful = unconfirmed or set()
    wrong = {
        email: received[email]
        for order_id, email in emails.items()
        if received[email] != 1 and not (order_id in doubtful and received[email] == 0)
    }
    return Check(
        "one delivery email per order",
        f"{len(emails)} emails, one each",
        f"{sum(received[e] for e in emails.values())} emails, {len(wrong)} orders not exactly"
        f" one, {len(doubtful)} unconfirmed (cut off mid-send, for an admin)",
        not wrong,
        [f"{email}: {n} emails" for email, n in list(wrong.items())[:10]]
        + [f"unconfirmed: {o} ({received[emails[o]]} received)" for o in sorted(doubtful)][:10],
    )


async def unconfirmed_emails(
    http: httpx.AsyncClient, stack: ChaosStack, order_ids: list[str]
) -> set[str]:
    """The orders whose delivery email is `unconfirmed` in delivery's email log."""
    found: set[str] = set()
    for order_id in order_ids:
        answer = await http.get(
            f"{stack.url('delivery')}/internal/orders/{order_id}/emails", headers=stack.internal
        )
        answer.raise_for_status()
        if any(e["status"] == "unconfirmed" for e in answer.json()["emails"]):
            found.add(order_id)
    return found


def parked_check(letters: list[dict[str, Any]], states: dict[str, str]) -> Check:
    """A parked message is explained when it carries a reason and an error an admin can
    read, and nothing was lost by it: its order (if any) still ended fulfilled."""
    unexplained = [
        letter
        for letter in letters
        if not letter.get("reason")
        or not letter.get("error")
        or (letter.get("order_id") and states.get(str(letter["order_id"])) != "fulfilled")
    ]
    by_reason = Counter(f"{item['service']}/{item['topic']}: {item['reason']}" for item in letters)
    return Check(
        "no message parked without an explanation",
        "0 unexplained",
        f"{len(letters)} parked, {len(unexplained)} unexplained",
        not unexplained,
        [f"{n} x {what}" for what, n in by_reason.items()]
        + [f"unexplained: {item}" for item in unexplained[:5]],
    )


def event_check(tap: list[Tapped], emails: dict[str, str]) -> Check:
    """One `order.fulfilled` event per order. The outbox relay publishes at least once:
    a copy of an event whose confirm a broker crash swallowed is published again with
    the same event id (consumers drop it by id), so events are counted by id and the
    copies reported."""
    events = [json.loads(m.body) for m in tap if m.topic == "order.fulfilled"]
    distinct = {str(event["event_id"]): str(event["order_id"]) for event in events}
    per_order = Counter(distinct.values())
    wrong = [order_id for order_id in emails if per_order[order_id] != 1]
    copies = len(events) - len(distinct)
    return Check(
        "one order.fulfilled event per order (bus)",
        f"{len(emails)} events",
        f"{len(distinct)} events ({copies} published again with the same id),"
        f" {len(wrong)} orders not exactly one",
        not wrong,
        [f"{o}: {per_order[o]} events" for o in wrong[:10]],
    )


async def reveal_all(
    http: httpx.AsyncClient,
    stack: ChaosStack,
    emails: dict[str, str],
    entries: list[dict[str, Any]],
) -> dict[str, bool | None]:
    """Each order's emailed link opened as its customer would: whether the page shows
    every key Kinguin issued for the order (None: no email to open)."""
    issued = {str(e["orderExternalId"]): [str(k["serial"]) for k in e["keys"]] for e in entries}
    gate = asyncio.Semaphore(8)

    async def reveal(order_id: str, address: str) -> bool | None:
        link = emailed_link(stack.mailbox, address)
        if link is None:
            return None
        if not link:
            return False
        async with gate:
            page = await http.get(link)
        keys = issued.get(order_id, [])
        return page.status_code == 200 and bool(keys) and all(key in page.text for key in keys)

    found = await asyncio.gather(*(reveal(o, a) for o, a in emails.items()))
    return dict(zip(emails, found, strict=True))


def reveal_check(revealed: dict[str, bool | None]) -> Check:
    """Every key bought reaches its customer intact: stored encrypted through the
    faults, it still decrypts to what Kinguin issued. An order without an email (only
    an unconfirmed one may lack it: the email check judges that) is listed."""
    shown = sum(1 for ok in revealed.values() if ok)
    wrong = [order_id for order_id, ok in revealed.items() if ok is False]
    unopened = [order_id for order_id, ok in revealed.items() if ok is None]
    return Check(
        "each emailed link reveals the keys Kinguin issued",
        f"{len(revealed)} pages with their keys",
        f"{shown} shown, {len(wrong)} wrong or refused, {len(unopened)} without an email",
        not wrong and shown > 0,
        [f"wrong: {o}" for o in wrong[:10]] + [f"no email: {o}" for o in unopened[:10]],
    )


def secret_values(keys: Secrets) -> dict[str, str]:
    """Every secret the processes hold (the public halves of key pairs are not secret)."""
    return {
        name: value
        for name, value in vars(keys).items()
        if not name.endswith("public_key") and isinstance(value, str)
    }


async def bucket_objects(stack: ChaosStack) -> list[tuple[str, bytes]]:
    session = aioboto3.Session(
        aws_access_key_id="bitloot-local",
        aws_secret_access_key="moto-accepts-any",  # noqa: S106 - moto checks no signature
        region_name="us-east-1",
    )
    found: list[tuple[str, bytes]] = []
    async with session.client("s3", endpoint_url=stack.s3_endpoint) as client:
        paginator = client.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=stack.machine.s3_bucket):
            for item in page.get("Contents", []):
                obj = await client.get_object(Bucket=stack.machine.s3_bucket, Key=item["Key"])
                found.append((f"s3 {item['Key']}", await obj["Body"].read()))
    return found


def log_files(stack: ChaosStack) -> list[tuple[str, bytes]]:
    """The services' logs, and the database's and broker's own: everything but the
    sandboxes, which play the providers (Kinguin knows the keys)."""
    paths = [stack.logs / f"{service}.log" for service in SERVICES]
    paths.append(stack.postgres.root / "postgres.log")
    paths += sorted((stack.rabbit.root / "log").glob("*.log"))
    return [(f"log {path.name}", path.read_bytes()) for path in paths if path.exists()]


async def leak_checks(
    stack: ChaosStack, entries: list[dict[str, Any]], tap: list[Tapped]
) -> list[Check]:
    """No plaintext key anywhere; no secret and no token in any log."""
    keys = Needles(
        {
            f"key of order {entry['orderExternalId']} #{index}": str(key["serial"])
            for entry in entries
            for index, key in enumerate(entry["keys"])
        }
    )
    databases = [
        (f"database {service}", await database_dump(stack.machine.database(service)))
        for service in SERVICES
    ]
    logs = log_files(stack)
    places = {
        "bus": [(f"bus {m.topic}", m.body + m.headers) for m in tap],
        "databases": databases,
        "logs": logs,
        "emails": [
            (f"email to {', '.join(m.recipients)}", m.message.as_bytes())
            for m in stack.mailbox.mails
        ],
        "object store": await bucket_objects(stack),
    }
    size = {place: sum(len(text) for _, text in found) for place, found in places.items()}
    leaks = {
        place: await asyncio.to_thread(keys.find_all, found) for place, found in places.items()
    }
    found_keys = sum(len(found) for found in leaks.values())
    checks = [
        Check(
            "no plaintext key on the bus, in a database, log, email or S3 object",
            f"0 of {keys.count} keys, in any form",
            f"{found_keys} found; scanned "
            + ", ".join(f"{place} {size[place] / 1e6:.1f} MB" for place in places),
            found_keys == 0 and all(size.values()),
            [f"{f.label} in {f.where} ({f.form})" for found in leaks.values() for f in found][:10]
            + [f"{place} is empty: the scan proves nothing" for place, n in size.items() if not n],
        )
    ]
    secrets = Needles(secret_values(stack.keys))
    in_logs = secrets.find_all(logs)
    tokens = [where for where, text in logs if JWT.search(text)]
    lines = sum(text.count(b"\n") for _, text in logs)
    checks.append(
        Check(
            "no secret or token in any log line",
            f"0 of {secrets.count} secrets, 0 JWTs",
            f"{len(in_logs)} secrets, {len(tokens)} logs with a JWT, in {lines} lines",
            not in_logs and not tokens and lines > 0,
            [f"{f.label} in {f.where}" for f in in_logs] + [f"JWT in {w}" for w in tokens],
        )
    )
    return checks


async def verify(stack: ChaosStack, emails: dict[str, str], refused: list[str]) -> list[Check]:
    """Every check, on the stack after the load drained (services stopped for the logs
    and the scans; the servers still up)."""
    async with httpx.AsyncClient(timeout=30) as http:
        states = await saga_states(http, stack, list(emails))
        entries = await ledger(http, stack)
        letters = await parked(http, stack)
        received = distinct_key_emails(stack.mailbox.mails)
        unconfirmed = await unconfirmed_emails(http, stack, list(emails))
        # Last, so that the leak scan below also covers what revealing wrote and logged.
        revealed = await reveal_all(http, stack, emails, entries)
    checks = [
        Check(
            "every checkout accepted (customers retry)",
            "0 refused",
            f"{len(refused)} refused",
            not refused,
            refused[:10],
        ),
        orders_check(emails, states),
        ledger_check(emails, entries),
        emails_check(emails, received, unconfirmed),
        parked_check(letters, states),
        reveal_check(revealed),
    ]
    await stack.stop_all()  # their logs are complete, the databases still
    tap = await drain_tap(stack)
    checks.append(event_check(tap, emails))
    checks += await leak_checks(stack, entries, tap)
    return checks
