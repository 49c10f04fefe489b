"""An order's timeline as a story an operator reads at a glance, and what to do next.

Every service reports what it did to an order, and several report the same fact: the
payment finishing is an IPN at payments, `payment_finished` at payments and the saga
starting at fulfillment; the Kinguin order is `reservation_placed` at the gateway and
`reserving → reserved` at fulfillment; the keys are sealed by the gateway, stored by
delivery and make the saga `delivering`. Shown raw, a happy order had some twenty rows.

`story` folds them: each event names the fact it reports (`_fact`), and an event joins
the latest row of the same fact unless that row already holds the same report from the
same service (a second reservation after a retry is a new fact). Each row has one human
title, the services that reported it and the events themselves (for the raw data behind
a `<details>`). `next_step` reads the saga's state, its failure, the refunds, the flags
and the parked messages and says what the operator should do. Both are pure: the page
and the tests give them what the services answered.
"""

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Final, Literal

from pydantic import JsonValue

from bitloot_admin.domain.views import Event

# Valid IPNs before the payment finished: the payment's progress, one row however many.
_PROGRESS: Final = frozenset({"waiting", "confirming", "confirmed", "sending"})
# The saga's plain steps of the happy path, each the same fact as another service's row.
_SAGA_STEPS: Final[Mapping[str, tuple[str, str]]] = {
    "reserving": ("buying", "Buying the products at Kinguin"),
    "reserved": ("kinguin_order", "Kinguin order created"),
    "keys_requested": ("kinguin_completed", "Kinguin completed the order; keys requested"),
    "delivering": ("keys", "Keys handed to delivery"),
    "fulfilled": ("fulfilled", "Order fulfilled"),
}
_EMAIL_NAMES: Final[Mapping[str, str]] = {
    "delivery": "Key email",
    "resend": "Key email (resent by an admin)",
    "fresh_link": "Fresh-link email",
    "delayed": "Delay notice",
    "refund_due": "Refund-due notice",
    "refund_sent": "Refund-sent notice",
    "claim_link": "Refund claim-link email",
}
# Delivery's key events (`key_<action>`, summary "<action> by <actor>").
_KEY_EVENTS: Final[Mapping[str, str]] = {
    "key_link_resent": "Key email resend asked by {actor}",
    "key_link_issued": "Fresh reveal link issued to {actor}",
    "key_object_url_issued": "Presigned URL of the sealed keys issued to {actor}",
    "key_fresh_link_emailed": "Fresh link emailed ({actor} asked)",
    "key_rewrapped": "Keys re-encrypted under a new key ({actor})",
}
_EMAIL_OUTCOMES: Final[Mapping[str, str]] = {
    "email_queued": "queued",
    "email_sent": "accepted by mail server",
    "email_unconfirmed": "unconfirmed: cut off during sending, may not have arrived",
    "email_failed": "failed",
}


@dataclass(frozen=True)
class _Fact:
    """What an event reports: the fact's key, its title, how much the title speaks for
    the row (the highest rank names it) and whether repeats of it from one service fold
    into one row (IPNs of a payment's progress, reveals)."""

    key: str
    title: str
    rank: int = 1
    repeats: bool = False


@dataclass
class Row:
    """One fact of the story: when it happened first, what it was, who reported it."""

    at: datetime
    key: str
    title: str
    events: list[Event] = field(default_factory=list)
    rank: int = 0
    repeats: bool = False
    tone: Literal["", "ok", "bad"] = ""

    @property
    def sources(self) -> list[str]:
        return list(dict.fromkeys(event.service for event in self.events))


def story(events: Iterable[Event]) -> list[Row]:
    """The merged timeline folded to one row per fact, oldest first."""
    rows: list[Row] = []
    latest: dict[str, Row] = {}
    for event in sorted(events, key=lambda event: event.at):
        fact = _fact(event)
        row = latest.get(fact.key)
        if row is None or (not row.repeats and _reported(row, event)):
            row = Row(at=event.at, key=fact.key, title=fact.title, repeats=fact.repeats)
            rows.append(row)
            latest[fact.key] = row
        row.events.append(event)
        if fact.rank > row.rank:
            row.title, row.rank = fact.title, fact.rank
    for row in rows:
        row.title = _counted(row)
        row.tone = _tone(row)
    return rows


def _reported(row: Row, event: Event) -> bool:
    return any(e.service == event.service and e.kind == event.kind for e in row.events)


def _counted(row: Row) -> str:
    if row.key == "payment_progress":
        statuses = dict.fromkeys(str(e.data.get("status")) for e in row.events)
        return f"Payment in progress at NOWPayments: {' → '.join(statuses)}"
    reports = Counter((event.service, event.kind) for event in row.events)
    if row.repeats and max(reports.values()) > 1:
        return f"{row.title} ({max(reports.values())} times)"
    return row.title


_BAD_KINDS: Final = frozenset(
    {"saga_failed", "reservation_failed", "email_failed", "email_unconfirmed", "flagged"}
)


def _tone(row: Row) -> Literal["", "ok", "bad"]:
    kinds = {event.kind for event in row.events}
    if kinds & _BAD_KINDS or row.key.startswith("ipn_odd"):
        return "bad"
    if row.key in ("payment", "fulfilled") or row.title.endswith("accepted by mail server"):
        return "ok"
    return ""


def _fact(event: Event) -> _Fact:
    """The fact `event` reports, by its service and kind; anything unknown is its own
    fact, titled with the service's summary."""
    data, kind = event.data, event.kind
    if kind == "order_created":
        amount = _amount(event.summary.removeprefix("Order created for "))
        return _Fact("order", f"Order placed: {amount}")
    if kind == "invoice_created":
        return _Fact("invoice", "NOWPayments invoice created")
    if kind == "ipn_received":
        return _ipn_fact(event)
    if kind == "payment_finished":
        amount = _amount(event.summary.removeprefix("Payment finished: ").split(" received")[0])
        return _Fact("payment", f"Payment finished: {amount}", rank=3)
    if kind == "flagged":
        return _Fact(f"flag:{data.get('flag')}:{event.at.isoformat()}", event.summary)
    if kind.startswith("saga_"):
        return _saga_fact(event)
    if kind == "reservation_placing":
        count = data.get("lines")
        return _Fact("buying", f"Buying {count} product(s) at Kinguin", rank=2)
    if kind == "reservation_placed":
        return _Fact("kinguin_order", f"Kinguin order {data.get('kinguin_order_id')} created", 2)
    if kind == "reservation_failed":
        return _Fact("failed", f"Kinguin refused the order: {data.get('code')}", rank=2)
    if kind == "webhook_received":
        return _webhook_fact(event)
    if kind == "keys_sealed":
        return _Fact("keys", f"Keys fetched from Kinguin ({data.get('key_count')})", rank=2)
    if kind == "keys_stored":
        return _Fact("keys", f"Keys stored ({data.get('key_count')})", rank=3)
    if kind in _EMAIL_OUTCOMES:
        name = _EMAIL_NAMES.get(str(data.get("email_kind")), f"{data.get('email_kind')} email")
        rank = 1 if kind == "email_queued" else 2
        return _Fact(f"email:{data.get('email_kind')}", f"{name} {_EMAIL_OUTCOMES[kind]}", rank)
    if kind == "keys_revealed":
        return _Fact("revealed", "Customer revealed the keys", repeats=True)
    if kind in _KEY_EVENTS:
        actor = event.summary.rpartition(" by ")[2]
        return _Fact(f"{kind}:{event.at.isoformat()}", _KEY_EVENTS[kind].format(actor=actor))
    if kind == "key_revoked":
        return _Fact("revoked", f"Keys {event.summary}", rank=2)
    if kind == "keys_revoked":
        return _Fact("revoked", event.summary)
    if kind == "refund_status_changed":
        status = str(data.get("status", "")).removeprefix("refund_")
        return _Fact(f"refund:{status}", event.summary)
    return _Fact(f"{event.service}:{kind}", event.summary)


def _ipn_fact(event: Event) -> _Fact:
    data = event.data
    status = str(data.get("status"))
    if data.get("signature_valid") is False:
        return _Fact(f"ipn_odd:{event.at.isoformat()}", "IPN with an invalid signature refused")
    if data.get("duplicate"):
        return _Fact(f"ipn_duplicate:{status}", f"Duplicate IPN {status} ignored", repeats=True)
    if status == "finished" and data.get("result") == "paid":
        return _Fact("payment", "Payment finished")
    if status in _PROGRESS and data.get("result") == "applied":
        return _Fact("payment_progress", "Payment in progress", repeats=True)
    return _Fact(f"ipn_odd:{event.at.isoformat()}", event.summary)


def _saga_fact(event: Event) -> _Fact:
    data = event.data
    target, previous, reason = data.get("to"), data.get("from"), data.get("reason")
    if target == "paid" and previous is None:
        return _Fact("payment", "Fulfillment started")
    if target == "failed":
        return _Fact("failed", f"Fulfillment failed: {reason}", rank=3)
    if target == "refunded":
        return _Fact("refunded", f"Kinguin took the order back: {reason}", rank=3)
    if reason:
        # A retry, a late completion, a delay told, keys entered by hand: each its own.
        return _Fact(f"saga:{target}:{event.at.isoformat()}", _sentence(str(reason)), rank=3)
    key, title = _SAGA_STEPS.get(str(target), (f"saga:{target}", f"Saga {previous} → {target}"))
    return _Fact(key, title)


def _webhook_fact(event: Event) -> _Fact:
    data = event.data
    status = str(data.get("status"))
    if not data.get("authenticated", True):
        return _Fact(f"webhook_odd:{event.at.isoformat()}", "Unauthenticated Kinguin webhook")
    if status == "completed":
        return _Fact("kinguin_completed", "Kinguin completed the order", rank=2, repeats=True)
    return _Fact(f"webhook:{status}", f"Kinguin reports the order {status}", repeats=True)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _amount(text: str) -> str:
    """`4.99 usd` as `4.99 USD`; anything else as it came."""
    number, _, currency = text.partition(" ")
    try:
        Decimal(number)
    except InvalidOperation:
        return text
    return f"{number} {currency.upper()}".strip()


def ago(at: datetime, now: datetime) -> str:
    """How long before `now` `at` was, as an operator says it."""
    seconds = int((now - at).total_seconds())
    if seconds < 0:
        return "just now" if seconds > -60 else "in the future"
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if unit == 'day' and count > 1 else ''} ago"
    return "just now" if seconds < 10 else f"{seconds} s ago"


def delay_told(events: Iterable[Event]) -> str | None:
    """The reason fulfillment gave when it told the customer the order is late (it
    waits on a bought order past the deadline), if it did."""
    told = [
        str(event.data.get("reason"))
        for event in events
        if event.kind.startswith("saga_") and str(event.data.get("reason")).endswith(_TOLD)
    ]
    return told[-1] if told else None


_TOLD: Final = "customer told"


def elapsed(since: timedelta) -> str:
    """How long after the order was placed a row happened: `+0.36 s`, `+12 s`, `+5 min`,
    `+3 h` (the story of a happy order takes seconds, which "just now" hides)."""
    seconds = since.total_seconds()
    if seconds < 10:
        return f"+{seconds:.2f} s"
    if seconds < 120:
        return f"+{seconds:.0f} s"
    if seconds < 7200:
        return f"+{seconds / 60:.0f} min"
    return f"+{seconds / 3600:.0f} h"


# --- the next step -------------------------------------------------------------------

Tone = Literal["ok", "wait", "act"]


@dataclass(frozen=True)
class Summary:
    """The box at the top of the order page: where the order stands, why (a failure's
    reason), and what the operator should do next."""

    tone: Tone
    headline: str
    next_step: str
    reason: str | None = None


@dataclass(frozen=True)
class Situation:
    """What `next_step` reads: the saga (None if fulfillment did not answer or has
    none), the order's payment status, its refunds, open flags and parked messages."""

    state: str | None
    failure_stage: str | None = None
    failure_reason: str | None = None
    email_confirmed: bool | None = None
    payment_status: str | None = None
    saga_answered: bool = True
    updated_at: datetime | None = None
    refunds: Sequence[Mapping[str, JsonValue]] = ()
    flags: Sequence[tuple[int, str]] = ()
    parked: Sequence[str] = ()
    # Why fulfillment waits on past the deadline (a preorder, or Kinguin still
    # processing a bought order), when it told the customer so.
    delayed: str | None = None


# How long a step of the happy path may take before the order may be stuck (fulfillment's
# deadline is longer: it fails the order itself; this only tells the operator to look).
STUCK_AFTER: Final = timedelta(minutes=30)
# Why Kinguin refused to sell (the gateway's codes), and what to do about each.
_RESERVATION: Final[Mapping[str, tuple[str, str]]] = {
    "product_unavailable": (
        "Kinguin out of stock",
        "Retry when stock returns, deliver keys bought elsewhere by hand, or refund.",
    ),
    "price_above_maximum": (
        "Kinguin's price is above the order's ceiling",
        "Retry if the price falls back, deliver keys bought elsewhere by hand, or refund.",
    ),
    "insufficient_balance": (
        "Kinguin balance too low to buy",
        "Top up the Kinguin account, then retry.",
    ),
    "kinguin_access_denied": (
        "Kinguin refused our API key",
        "Fix the gateway's Kinguin API key, then retry.",
    ),
}
# The other stages a saga fails at: what happened, and what to do.
_STAGES: Final[Mapping[str, tuple[str, str]]] = {
    "kinguin": (
        "Kinguin canceled the order before delivery",
        "Retry (the gateway buys a replacement), or refund.",
    ),
    "delivery": ("Key email failed", "Check the mail server on Health, then resend the email."),
    "deadline": (
        "Kinguin did not complete the order in time",
        "Check the reservation at Kinguin, then retry, deliver keys by hand, or refund.",
    ),
}
_REFUND_STEPS: Final[Mapping[str, tuple[Tone, str]]] = {
    "due": ("wait", "Refund #{id} is due: the customer was mailed a claim link; wait for it."),
    "claimed": ("act", "Refund #{id} is claimed: approve or reject its payout."),
    "approved": ("wait", "Refund #{id} is approved: the payout is on its way."),
    "sending": ("wait", "Refund #{id} is being paid out."),
    "failed": (
        "act",
        "The payout of refund #{id} failed: approve it again or record it as "
        "refunded outside BitLoot.",
    ),
}
_CLOSED_REFUNDS: Final = frozenset({"sent", "refunded_outside"})


def next_step(situation: Situation, now: datetime) -> Summary:
    """Where the order stands and what the operator should do, most urgent first:
    an open flag, a refund to decide, a failure, parked messages, a stuck saga."""
    if situation.flags:
        flag_id, kind = situation.flags[0]
        return Summary("act", "Payment flagged", f"Decide flag #{flag_id} ({kind}) on its page.")
    refund = _speaking_refund(situation.refunds)
    if situation.state == "failed" and refund is not None and refund.get("status") == "due":
        # The customer has not claimed it yet: fixing the order is still the first move.
        failure = _failure(situation)
        also = (
            f" Refund #{refund.get('id')} is due meanwhile (the customer was mailed a claim "
            "link); keys delivered by a retry cancel it."
        )
        return Summary(failure.tone, failure.headline, failure.next_step + also, failure.reason)
    if refund is not None:
        return _refund_summary(situation, refund)
    if situation.state == "failed":
        return _failure(situation)
    if situation.parked:
        services = ", ".join(situation.parked)
        return Summary(
            "act",
            "A message of this order is parked",
            "Read the parked message in Dead letters, fix its cause, then replay it.",
            f"Parked by {services}.",
        )
    return _progress(situation, now)


def _speaking_refund(
    refunds: Sequence[Mapping[str, JsonValue]],
) -> Mapping[str, JsonValue] | None:
    """The newest refund that is not closed (rejected or canceled are closed too), else
    the newest paid one."""
    ordered = sorted(refunds, key=lambda r: str(r.get("id")).zfill(20), reverse=True)
    open_ones = [r for r in ordered if r.get("status") in _REFUND_STEPS]
    paid = [r for r in ordered if r.get("status") in _CLOSED_REFUNDS]
    speaking = open_ones or paid
    return speaking[0] if speaking else None


def _refund_summary(situation: Situation, refund: Mapping[str, JsonValue]) -> Summary:
    status = str(refund.get("status"))
    reason = _failure_reason(situation) if situation.state == "failed" else None
    if status in _CLOSED_REFUNDS:
        amount = f"{refund.get('amount')} {str(refund.get('currency') or '').upper()}"
        return Summary("ok", f"Refunded: {amount.strip()}", "Nothing to do.", reason)
    tone, step = _REFUND_STEPS[status]
    headline = "Refund due" if status in ("due", "claimed") else "Refund in progress"
    if status == "failed":
        headline = "Refund payout failed"
    return Summary(tone, headline, step.format(id=refund.get("id")), reason)


def _failure_reason(situation: Situation) -> str:
    return f"Failed at {situation.failure_stage}: {situation.failure_reason}"


def _failure(situation: Situation) -> Summary:
    stage, reason = situation.failure_stage, situation.failure_reason or ""
    why = _failure_reason(situation)
    if stage == "reservation":
        code = reason.split(":", 1)[0]
        headline, step = _RESERVATION.get(
            code,
            (
                f"Kinguin refused the order ({code})",
                "Read the reason; retry once it is fixed, or refund.",
            ),
        )
        return Summary("act", headline, step, why)
    if (known := _STAGES.get(stage or "")) is not None:
        return Summary("act", *known, why)
    return Summary("act", "Fulfillment failed", "Read the reason, then retry or refund.", why)


def _progress(situation: Situation, now: datetime) -> Summary:
    state = situation.state
    if state is None:
        if not situation.saga_answered:
            return Summary("wait", "Fulfillment did not answer", "Reload later; see Health.")
        if situation.payment_status == "finished":
            return Summary(
                "act",
                "Paid, but fulfillment has not started",
                "Check Dead letters for the payment's event, and Health for the bus.",
            )
        return Summary("wait", "Awaiting payment", "Nothing to do until the customer pays.")
    if state == "fulfilled":
        if situation.email_confirmed is False:
            return Summary(
                "act",
                "Key email unconfirmed",
                "Resend the email: the customer may not have the link.",
                "Delivery could not confirm the mail server accepted the key email.",
            )
        return Summary("ok", "Fulfilled: the keys were delivered", "Nothing to do.")
    if state == "refunded":
        return Summary(
            "act",
            "Kinguin took the order back after delivery",
            "Check the key audit for reveals, then decide with the customer; refund if owed.",
        )
    if situation.delayed is not None and state in ("reserving", "reserved"):
        return Summary(
            "wait",
            "Delayed at Kinguin; the customer was told",
            "Wait for Kinguin to deliver (polls go on); refund if the customer asks.",
            _sentence(situation.delayed),
        )
    since = situation.updated_at
    if since is not None and now - since > STUCK_AFTER:
        return Summary(
            "act",
            f"May be stuck in {state} since {ago(since, now)}",
            "Check the reservation and Dead letters, then retry (refused if within its deadline).",
        )
    return Summary("wait", f"In progress: {state.replace('_', ' ')}", "Nothing to do yet.")
