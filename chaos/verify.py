"""After the storm: what every invariant of ARCHITECTURE.md §3 says must hold, checked
against what each witness recorded (the services' own APIs, the Kinguin sandbox's
ledger, the SMTP server's mailbox, the bus, the databases, the logs, the object store).
"""

import asyncio
import json
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import aioboto3
import httpx

from bitloot_launch import infra
from bitloot_launch.catalog import emailed_link
from bitloot_launch.wiring import SERVICES, Secrets
from bitloot_testing.leaks import JWT, Needles, database_dump
from chaos.load import Placed
from chaos.refunds import RefundDesk, all_refunds, payouts
from chaos.stack import ChaosStack, Tapped, drain_tap

TERMINAL = frozenset({"fulfilled", "failed", "refunded"})
REFUND_NOTICES = ("refund_due", "refund_sent", "claim_link")
NO_SAGA = "no saga (payment never finished)"


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


def expected_state(order_id: str, refunds: Collection[str]) -> str:
    """How an order must end: a refund order's saga fails (Kinguin refuses its product;
    the money goes back), every other order is fulfilled."""
    return "failed" if order_id in refunds else "fulfilled"


def orders_check(
    emails: dict[str, str], states: dict[str, str], refunds: Collection[str] = frozenset()
) -> Check:
    wrong = [o for o in emails if states.get(o) != expected_state(o, refunds)]
    normal = Counter(states.get(o, NO_SAGA) for o in emails if o not in refunds)
    refunded = Counter(states.get(o, NO_SAGA) for o in emails if o in refunds)
    found = ", ".join(f"{n} {state}" for state, n in normal.most_common())
    if refunds:
        found += "; refund orders: " + ", ".join(
            f"{n} {state}" for state, n in refunded.most_common()
        )
    expected = f"{len(emails) - len(refunds)} fulfilled"
    return Check(
        "every order fulfilled" + (", each refund order failed" if refunds else ""),
        expected + (f"; refund orders: {len(refunds)} failed" if refunds else ""),
        found or "no orders",
        not wrong and len(emails) > len(refunds),
        [f"{o}: {states.get(o)}" for o in wrong][:10],
    )


def ledger_check(
    emails: dict[str, str], entries: list[dict[str, Any]], refunds: Collection[str] = frozenset()
) -> Check:
    """One Kinguin order per order; none for a refund order (Kinguin refuses its product,
    so an entry would be a purchase that should not have happened)."""
    per_order = Counter(str(entry["orderExternalId"]) for entry in entries)
    missing = [o for o in emails if o not in refunds and per_order[o] == 0]
    twice = [order_id for order_id, n in per_order.items() if n > 1]
    strangers = [order_id for order_id in per_order if order_id not in emails]
    refund_bought = [o for o in refunds if per_order[o] > 0]
    retried = sum(int(entry.get("duplicate_attempts", 0)) for entry in entries)
    return Check(
        "one Kinguin order per order (sandbox ledger)",
        f"{len(emails) - len(refunds)} orders, none twice"
        + (f", none for the {len(refunds)} refund orders" if refunds else ""),
        f"{len(entries)} orders, {len(twice)} twice, {len(missing)} missing,"
        f" {len(refund_bought)} for refund orders"
        f" ({retried} purchase requests repeated an order id)",
        not missing and not twice and not strangers and not refund_bought,
        [f"bought twice: {o}" for o in twice]
        + [f"not bought: {o}" for o in missing][:10]
        + [f"bought for a refund order: {o}" for o in refund_bought][:10]
        + [f"bought for no order placed: {o}" for o in strangers][:10],
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


def parked_check(
    letters: list[dict[str, Any]], states: dict[str, str], refunds: Collection[str] = frozenset()
) -> Check:
    """A parked message is explained when it carries a reason and an error an admin can
    read, and nothing was lost by it: its order (if any) still ended as it must
    (fulfilled; a refund order failed)."""

    def lost(order_id: object) -> bool:
        return bool(order_id) and states.get(str(order_id)) != expected_state(
            str(order_id), refunds
        )

    unexplained = [
        letter
        for letter in letters
        if not letter.get("reason") or not letter.get("error") or lost(letter.get("order_id"))
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


def event_check(
    tap: list[Tapped], emails: dict[str, str], refunds: Collection[str] = frozenset()
) -> Check:
    """One `order.fulfilled` event per order, none for a refund order. The outbox relay
    publishes at least once: a copy of an event whose confirm a broker crash swallowed
    is published again with the same event id (consumers drop it by id), so events are
    counted by id and the copies reported."""
    events = [json.loads(m.body) for m in tap if m.topic == "order.fulfilled"]
    distinct = {str(event["event_id"]): str(event["order_id"]) for event in events}
    per_order = Counter(distinct.values())
    wrong = [o for o in emails if per_order[o] != (0 if o in refunds else 1)]
    copies = len(events) - len(distinct)
    return Check(
        "one order.fulfilled event per order (bus)",
        f"{len(emails) - len(refunds)} events"
        + (f", none for the {len(refunds)} refund orders" if refunds else ""),
        f"{len(distinct)} events ({copies} published again with the same id),"
        f" {len(wrong)} orders not exactly one",
        not wrong,
        [f"{o}: {per_order[o]} events" for o in wrong[:10]],
    )


def distinct_emails(mails: Iterable[infra.Mail]) -> Counter[tuple[str, str]]:
    """Emails per (recipient, kind), each Message-ID once (see `distinct_key_emails`);
    key emails counted under the kind ``key``."""
    ids: dict[tuple[str, str], set[str]] = {}
    for mail in mails:
        kind = "key" if mail.is_key_email else mail.kind
        message_id = str(mail.message["Message-ID"] or id(mail))
        for recipient in mail.recipients:
            ids.setdefault((recipient, kind), set()).add(message_id)
    return Counter({key: len(found) for key, found in ids.items()})


def plain_text(mail: infra.Mail) -> str:
    body = mail.message.get_body(preferencelist=("plain",))
    return body.get_content() if body is not None else ""


def refund_emails_check(
    emails: dict[str, str],
    refunds: Collection[str],
    mails: list[infra.Mail],
    transaction_ids: Mapping[str, str | None],
) -> Check:
    """A refund order's customer hears twice, once per event: one `refund_due` email
    (with the claim link) and one `refund_sent` naming the transaction id payments
    recorded, and never a key email; a customer whose order was fulfilled gets no
    refund email at all."""
    counted = distinct_emails(mails)
    wrong: list[str] = []
    for order_id, email in emails.items():
        if order_id in refunds:
            wanted = {"refund_due": 1, "refund_sent": 1, "key": 0}
            for kind, n in wanted.items():
                if counted[(email, kind)] != n:
                    wrong.append(f"{order_id}: {counted[(email, kind)]} {kind} emails, not {n}")
            paid = transaction_ids.get(order_id)
            told = [m for m in mails if email in m.recipients and m.kind == "refund_sent"]
            if not paid or not all(paid in plain_text(m) for m in told):
                wrong.append(f"{order_id}: refund_sent email without the transaction id {paid}")
        else:
            notices = sum(counted[(email, kind)] for kind in REFUND_NOTICES)
            if notices:
                wrong.append(f"{order_id}: {notices} refund emails to a fulfilled order")
    due = sum(counted[(emails[o], "refund_due")] for o in refunds if o in emails)
    sent = sum(counted[(emails[o], "refund_sent")] for o in refunds if o in emails)
    return Check(
        "one refund_due and one refund_sent email per refund order, none to others",
        f"{len(refunds)} + {len(refunds)} emails, no key email",
        f"{due} refund_due, {sent} refund_sent, {len(wrong)} wrong",
        not wrong and bool(refunds),
        wrong[:10],
    )


def _amount(value: object) -> Decimal | None:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def refund_check(
    emails: dict[str, str],
    refunds: Collection[str],
    recorded: list[dict[str, Any]],
    withdrawals: list[dict[str, Any]],
    claimed: Mapping[str, str],
) -> Check:
    """Each refund order's money goes back exactly once, to the address its customer
    claimed with: NOWPayments' payout ledger holds one withdrawal for its refund
    (``unique_external_id`` ``refund-<id>``, ``-<n>`` for a new attempt), finished, of
    the refund's amount and currency; payments' refund is `sent` with that payout's hash
    as its transaction id. No other order has a refund, no payout is for anything else."""
    by_order: dict[str, list[dict[str, Any]]] = {}
    for refund in recorded:
        by_order.setdefault(str(refund["order_id"]), []).append(refund)
    wrong: list[str] = []
    mine: set[str] = set()  # the refunds of refund orders, as `refund-<id>`
    paid_once = 0
    for order_id in refunds:
        found = by_order.get(order_id, [])
        if len(found) != 1:
            wrong.append(f"{order_id}: {len(found)} refunds, not 1")
            continue
        refund = found[0]
        prefix = f"refund-{refund['id']}"
        mine.add(prefix)
        paid = [
            w
            for w in withdrawals
            if w.get("unique_external_id") == prefix
            or str(w.get("unique_external_id") or "").startswith(prefix + "-")
        ]
        if len(paid) != 1:
            wrong.append(f"{order_id}: {len(paid)} payouts for refund {refund['id']}, not 1")
            continue
        payout = paid[0]
        problems = []
        if str(payout["status"]).lower() != "finished":
            problems.append(f"payout {payout['status']}")
        if payout["address"] != claimed.get(order_id):
            problems.append(f"paid to {payout['address']}, claimed {claimed.get(order_id)}")
        if str(payout["currency"]).lower() != str(refund["currency"]).lower():
            problems.append(f"paid in {payout['currency']}, owed in {refund['currency']}")
        if _amount(payout["amount"]) != _amount(refund["amount"]):
            problems.append(f"paid {payout['amount']}, owed {refund['amount']}")
        if refund["status"] != "sent":
            problems.append(f"refund {refund['status']}")
        if not payout.get("hash") or refund.get("transaction_id") != payout["hash"]:
            problems.append(f"transaction {refund.get('transaction_id')} vs {payout.get('hash')}")
        if problems:
            wrong.append(f"{order_id}: " + "; ".join(problems))
        else:
            paid_once += 1
    others = sorted(o for o in by_order if o not in refunds)
    wrong += [f"{o}: a refund for an order not to be refunded" for o in others]
    strangers = [
        str(w.get("unique_external_id"))
        for w in withdrawals
        if not any(
            w.get("unique_external_id") == p or str(w.get("unique_external_id")).startswith(p + "-")
            for p in mine
        )
    ]
    wrong += [f"payout {uid}: for no refund order" for uid in strangers]
    sent = sum(1 for r in recorded if r["status"] == "sent")
    return Check(
        "each refund paid once to the claimed address (NOWPayments payout ledger)",
        f"{len(refunds)} refunds sent, {len(refunds)} payouts",
        f"{sent} sent, {len(withdrawals)} payouts, {paid_once} paid once as claimed,"
        f" {len(wrong)} wrong",
        not wrong and paid_once == len(refunds) > 0 and all(o in emails for o in refunds),
        wrong[:10],
    )


def refund_desk_check(refunds: Collection[str], desk: RefundDesk) -> Check:
    """Every refunding customer could claim and the admin approve through the faults:
    a valid address is accepted, an approval goes through (retried calls counted)."""
    unclaimed = [o for o in refunds if o not in desk.claimed]
    unapproved = [o for o in refunds if o not in desk.approved]
    return Check(
        "each refund claimed by its customer and approved by an admin",
        f"{len(refunds)} claimed, {len(refunds)} approved, 0 refused",
        f"{len(desk.claimed)} claimed, {len(desk.approved)} approved,"
        f" {len(desk.problems)} refused ({desk.retried} calls retried through faults)",
        not unclaimed and not unapproved and not desk.problems and bool(refunds),
        desk.problems[:10]
        + [f"not claimed: {o}" for o in unclaimed][:10]
        + [f"not approved: {o}" for o in unapproved][:10],
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


async def verify(stack: ChaosStack, placed: Placed, desk: RefundDesk) -> list[Check]:
    """Every check, on the stack after the load drained (services stopped for the logs
    and the scans; the servers still up). Refund orders end failed and are refunded;
    the key-email and reveal checks are about the others."""
    emails, refunds, normal = placed.emails, placed.refunds, placed.normal
    async with httpx.AsyncClient(timeout=30) as http:
        states = await saga_states(http, stack, list(emails))
        entries = await ledger(http, stack)
        letters = await parked(http, stack)
        recorded = await all_refunds(http, stack)
        withdrawals = await payouts(http, stack)
        received = distinct_key_emails(stack.mailbox.mails)
        unconfirmed = await unconfirmed_emails(http, stack, list(normal))
        # Last, so that the leak scan below also covers what revealing wrote and logged.
        revealed = await reveal_all(http, stack, normal, entries)
    paid = {str(r["order_id"]): r.get("transaction_id") for r in recorded}
    checks = [
        Check(
            "every checkout accepted (customers retry)",
            "0 refused",
            f"{len(placed.refused)} refused",
            not placed.refused,
            placed.refused[:10],
        ),
        orders_check(emails, states, refunds),
        ledger_check(emails, entries, refunds),
        emails_check(normal, received, unconfirmed),
        parked_check(letters, states, refunds),
        reveal_check(revealed),
        refund_desk_check(refunds, desk),
        refund_check(emails, refunds, recorded, withdrawals, desk.claimed),
        refund_emails_check(emails, refunds, stack.mailbox.mails, paid),
    ]
    await stack.stop_all()  # their logs are complete, the databases still
    tap = await drain_tap(stack)
    checks.append(event_check(tap, emails, refunds))
    checks += await leak_checks(stack, entries, tap)
    return checks
