"""The order's timeline folds to one row per fact, worded for an operator, and the box at
the top names the failure and the next step for every state and failure stage of the
saga."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bitloot_admin.domain.story import (
    STUCK_AFTER,
    Situation,
    ago,
    delay_told,
    elapsed,
    next_step,
    story,
)
from bitloot_admin.domain.views import Event
from bitloot_contracts.events.order import OrderState

T0 = datetime(2026, 12, 6, 1, 28, tzinfo=UTC)

# A happy order's timeline as the four services answered it (read from a real run).
HAPPY: list[tuple[str, str, str, str, dict[str, Any]]] = [
    ("payments", "08.589869", "order_created", "Order created for 4.99 usd", {}),
    (
        "payments",
        "08.598162",
        "invoice_created",
        "NOWPayments invoice created",
        {"invoice_id": "45"},
    ),
    *(
        (
            "payments",
            at,
            "ipn_received",
            f"IPN {status} (valid): {result}",
            {
                "payment_id": "50",
                "status": status,
                "signature_valid": True,
                "duplicate": False,
                "result": result,
            },
        )
        for at, status, result in (
            ("08.632083", "waiting", "applied"),
            ("08.738505", "confirming", "applied"),
            ("08.845578", "confirmed", "applied"),
            ("08.950596", "finished", "paid"),
        )
    ),
    (
        "payments",
        "08.952622",
        "payment_finished",
        "Payment finished: 4.99 usd received",
        {"payment_id": "50"},
    ),
    (
        "kinguin-gateway",
        "08.989338",
        "reservation_placing",
        "Buying 1 product(s) at Kinguin.",
        {"lines": 1},
    ),
    (
        "kinguin-gateway",
        "09.044699",
        "reservation_placed",
        "Kinguin order KG-1 placed.",
        {"kinguin_order_id": "KG-1"},
    ),
    (
        "kinguin-gateway",
        "09.077239",
        "webhook_received",
        "Kinguin webhook: completed",
        {
            "event_name": "order.status",
            "status": "completed",
            "authenticated": True,
            "duplicate": False,
            "applied": True,
            "note": None,
        },
    ),
    (
        "kinguin-gateway",
        "09.108532",
        "keys_sealed",
        "1 key(s) fetched and sealed for delivery.",
        {"key_count": 1},
    ),
    *(
        ("fulfillment", at, f"saga_{to}", "…", {"from": previous, "to": to, "reason": None})
        for at, previous, to in (
            ("08.962273", None, "paid"),
            ("08.962310", "paid", "reserving"),
            ("09.077439", "reserving", "reserved"),
            ("09.091440", "reserved", "keys_requested"),
            ("09.114646", "keys_requested", "delivering"),
            ("09.156601", "delivering", "fulfilled"),
        )
    ),
    ("delivery", "09.114353", "keys_stored", "1 key(s) stored encrypted", {"key_count": 1}),
    (
        "delivery",
        "09.114353",
        "email_queued",
        "delivery email queued",
        {"email_kind": "delivery", "attempts": 1},
    ),
    (
        "delivery",
        "09.142106",
        "email_sent",
        "delivery email sent",
        {"email_kind": "delivery", "attempts": 1},
    ),
]


def event(service: str, seconds: str, kind: str, summary: str, data: dict[str, Any]) -> Event:
    at = T0 + timedelta(seconds=float(seconds))
    return Event(service=service, at=at, kind=kind, summary=summary, data=data)


def saga(seconds: str, previous: str | None, to: str, reason: str | None = None) -> Event:
    """Fulfillment's event of its saga moving from `previous` to `to`."""
    data = {"from": previous, "to": to, "reason": reason}
    return event("fulfillment", seconds, f"saga_{to}", "…", data)


def happy() -> list[Event]:
    return [event(*row) for row in HAPPY]


def test_a_happy_order_reads_as_ten_facts_each_told_once() -> None:
    rows = story(happy())
    assert len(rows) <= 12
    assert [row.title for row in rows] == [
        "Order placed: 4.99 USD",
        "NOWPayments invoice created",
        "Payment in progress at NOWPayments: waiting → confirming → confirmed",
        "Payment finished: 4.99 USD",
        "Buying 1 product(s) at Kinguin",
        "Kinguin order KG-1 created",
        "Kinguin completed the order",
        "Keys stored (1)",
        "Key email accepted by mail server",
        "Order fulfilled",
    ]
    # No event lost, none told twice, and each row names who reported it.
    assert sum(len(row.events) for row in rows) == len(HAPPY)
    assert len({row.key for row in rows}) == len(rows)
    by_title = {row.title: row for row in rows}
    assert by_title["Payment finished: 4.99 USD"].sources == ["payments", "fulfillment"]
    assert by_title["Keys stored (1)"].sources == ["kinguin-gateway", "delivery", "fulfillment"]
    assert by_title["Kinguin order KG-1 created"].sources == ["kinguin-gateway", "fulfillment"]
    assert [row.at for row in rows] == sorted(row.at for row in rows)


def test_a_retry_is_a_new_fact_and_its_second_reservation_a_new_row() -> None:
    retried = [
        *happy()[:13],  # paid, up to the saga reserving
        saga("09.0", "reserving", "failed", "product_unavailable: none left"),
        event(
            "kinguin-gateway",
            "08.999",
            "reservation_failed",
            "Kinguin refused the order",
            {"code": "product_unavailable", "reason": "none left"},
        ),
        saga("20.0", "failed", "paid", "admin retry after reservation failure"),
        saga("20.1", "paid", "reserving"),
    ]
    titles = [row.title for row in story(retried)]
    assert "Fulfillment failed: product_unavailable: none left" in titles
    assert "Admin retry after reservation failure" in titles
    assert titles.count("Buying the products at Kinguin") == 1  # the second, fulfillment's
    assert titles.count("Buying 1 product(s) at Kinguin") == 1


def test_the_projection_s_revocation_folds_into_delivery_s_and_names_both() -> None:
    rows = story(
        [
            event("delivery", "30", "key_revoked", "revoked by alice", {}),
            event("admin", "30.01", "keys_revoked", "Keys revoked", {"status": "keys_revoked"}),
        ]
    )
    assert len(rows) == 1
    assert rows[0].sources == ["delivery", "admin"]


def test_duplicate_ipns_and_reveals_fold_into_a_count_and_an_unconfirmed_email_stands_out() -> None:
    dup = {"status": "finished", "signature_valid": True, "duplicate": True, "result": "ignored"}
    rows = story(
        [
            event("payments", "1", "ipn_received", "dup", dup),
            event("payments", "2", "ipn_received", "dup", dup),
            event("delivery", "3", "keys_revealed", "Keys revealed via the link", {}),
            event("delivery", "4", "keys_revealed", "Keys revealed via the link", {}),
            event("delivery", "5", "email_queued", "q", {"email_kind": "resend"}),
            event("delivery", "6", "email_unconfirmed", "u", {"email_kind": "resend"}),
        ]
    )
    assert [(row.title, row.tone) for row in rows] == [
        ("Duplicate IPN finished ignored (2 times)", ""),
        ("Customer revealed the keys (2 times)", ""),
        (
            "Key email (resent by an admin) unconfirmed: cut off during sending, may not have "
            "arrived",
            "bad",
        ),
    ]


def test_each_row_says_how_long_after_the_order_it_came() -> None:
    assert elapsed(timedelta(seconds=0.3612)) == "+0.36 s"
    assert elapsed(timedelta(seconds=42.4)) == "+42 s"
    assert elapsed(timedelta(minutes=5)) == "+5 min"
    assert elapsed(timedelta(hours=3)) == "+3 h"


def test_times_read_relative() -> None:
    assert ago(T0 - timedelta(seconds=3), T0) == "just now"
    assert ago(T0 - timedelta(seconds=42), T0) == "42 s ago"
    assert ago(T0 - timedelta(minutes=5, seconds=3), T0) == "5 min ago"
    assert ago(T0 - timedelta(hours=2), T0) == "2 h ago"
    assert ago(T0 - timedelta(days=3), T0) == "3 days ago"


FAILURES = [
    (
        "reservation",
        "product_unavailable: Kinguin refused POST /v1/order (400)",
        "Kinguin out of stock",
        "Retry when stock returns",
    ),
    ("reservation", "price_above_maximum: 12 > 10", "above the order's ceiling", "Retry if"),
    ("reservation", "insufficient_balance: short", "balance too low", "Top up the Kinguin"),
    ("reservation", "kinguin_access_denied: key", "API key", "Fix the gateway's"),
    (
        "reservation",
        "order_limit_exceeded: limit",
        "Kinguin refused the order (order_limit",
        "retry once it is fixed, or refund",
    ),
    ("kinguin", "Kinguin order canceled before delivery", "canceled the order", "replacement"),
    ("delivery", "email_failed: 550 mailbox unavailable", "Key email failed", "resend the email"),
    (
        "deadline",
        "no completion within 0:30:00 (state reserved)",
        "did not complete",
        "deliver keys by hand",
    ),
]


@pytest.mark.parametrize(("stage", "reason", "headline", "step"), FAILURES)
def test_a_failed_order_says_why_and_what_to_do_for_each_failure_stage(
    stage: str, reason: str, headline: str, step: str
) -> None:
    summary = next_step(Situation("failed", stage, reason), T0)
    assert summary.tone == "act"
    assert headline in summary.headline
    assert step in summary.next_step
    assert summary.reason == f"Failed at {stage}: {reason}"


STATES: list[tuple[OrderState, str, str]] = [
    ("paid", "wait", "In progress: paid"),
    ("reserving", "wait", "In progress: reserving"),
    ("reserved", "wait", "In progress: reserved"),
    ("keys_requested", "wait", "In progress: keys requested"),
    ("delivering", "wait", "In progress: delivering"),
    ("fulfilled", "ok", "Fulfilled"),
    ("refunded", "act", "Kinguin took the order back"),
]


@pytest.mark.parametrize(("state", "tone", "headline"), STATES)
def test_every_other_state_has_a_summary(state: OrderState, tone: str, headline: str) -> None:
    summary = next_step(Situation(state, updated_at=T0 - timedelta(minutes=1)), T0)
    assert (summary.tone, summary.headline[: len(headline)]) == (tone, headline)
    assert summary.next_step


@pytest.mark.parametrize("state", ["paid", "reserving", "reserved", "keys_requested", "delivering"])
def test_a_saga_with_no_step_for_long_may_be_stuck(state: str) -> None:
    since = T0 - STUCK_AFTER - timedelta(minutes=1)
    summary = next_step(Situation(state, updated_at=since), T0)
    assert summary.tone == "act"
    assert summary.headline == f"May be stuck in {state} since 31 min ago"
    assert "retry" in summary.next_step


def test_an_unconfirmed_key_email_asks_for_a_resend() -> None:
    summary = next_step(Situation("fulfilled", email_confirmed=False), T0)
    assert (summary.headline, summary.tone) == ("Key email unconfirmed", "act")
    assert summary.next_step.startswith("Resend the email")


def test_a_flag_comes_first_then_a_refund_to_decide_then_the_failure() -> None:
    failed = Situation("failed", "deadline", "late", refunds=[{"id": 4, "status": "claimed"}])
    flagged = Situation("failed", "deadline", "late", flags=[(9, "late_payment")])
    assert next_step(flagged, T0).next_step == "Decide flag #9 (late_payment) on its page."
    claimed = next_step(failed, T0)
    assert claimed.next_step == "Refund #4 is claimed: approve or reject its payout."
    assert claimed.reason == "Failed at deadline: late"
    paid = Situation(
        "failed",
        "deadline",
        "late",
        refunds=[{"id": 4, "status": "sent", "amount": "4.99", "currency": "usd"}],
    )
    assert (next_step(paid, T0).headline, next_step(paid, T0).tone) == ("Refunded: 4.99 USD", "ok")
    rejected = Situation("failed", "deadline", "late", refunds=[{"id": 4, "status": "rejected"}])
    assert next_step(rejected, T0).headline == "Kinguin did not complete the order in time"


def test_parked_messages_and_no_saga_each_say_where_to_look() -> None:
    parked = next_step(Situation("reserving", parked=["fulfillment"]), T0)
    assert "Dead letters" in parked.next_step
    assert parked.reason == "Parked by fulfillment."
    assert next_step(Situation(None, saga_answered=False), T0).headline == (
        "Fulfillment did not answer"
    )
    assert next_step(Situation(None, payment_status="finished"), T0).tone == "act"
    assert next_step(Situation(None, payment_status="waiting"), T0).headline == "Awaiting payment"


def test_delivery_s_key_events_name_who_asked() -> None:
    rows = story([event("delivery", "1", "key_link_resent", "link resent by admin:alice", {})])
    assert [row.title for row in rows] == ["Key email resend asked by admin:alice"]


def test_a_bought_order_kinguin_is_late_with_waits_and_says_the_customer_was_told() -> None:
    reason = "past the deadline, a preorder, released on 2027-01-10: waiting on; customer told"
    told = saga("1", "reserved", "reserved", reason)
    assert delay_told([*happy()[:13], told]) == reason
    assert delay_told(happy()) is None
    long_ago = T0 - STUCK_AFTER * 3
    summary = next_step(Situation("reserved", updated_at=long_ago, delayed=reason), T0)
    assert (summary.tone, summary.headline) == ("wait", "Delayed at Kinguin; the customer was told")
    assert (
        summary.reason
        == "Past the deadline, a preorder, released on 2027-01-10: waiting on; customer told"
    )
    assert "refund if the customer asks" in summary.next_step


def test_a_failed_order_with_a_refund_only_due_still_leads_with_fixing_the_order() -> None:
    reason = "product_unavailable: out of stock"
    due = Situation("failed", "reservation", reason, refunds=[{"id": 1, "status": "due"}])
    summary = next_step(due, T0)
    assert summary.headline == "Kinguin out of stock"
    assert summary.next_step == (
        "Retry when stock returns, deliver keys bought elsewhere by hand, or refund. "
        "Refund #1 is due meanwhile (the customer was mailed a claim link); keys delivered "
        "by a retry cancel it."
    )
