from datetime import UTC, datetime, timedelta

import pytest

from bitloot_payments.domain.reconcile import (
    KnownPayment,
    Questions,
    ReconcilePolicy,
    is_news,
    questions,
)

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
POLICY = ReconcilePolicy(
    after=timedelta(minutes=10),
    max_interval=timedelta(hours=1),
    lifetime=timedelta(days=1),
    grace=timedelta(hours=2),
)


def known(payment_id: str, status: str, *seen: str) -> KnownPayment:
    return KnownPayment(payment_id, status, frozenset({status, *seen}))


def test_questions_come_at_doubling_intervals_up_to_the_longest() -> None:
    waits = [POLICY.next_check(T0, attempts, T0) for attempts in range(5)]
    assert [wait - T0 for wait in waits if wait] == [
        timedelta(minutes=10),
        timedelta(minutes=20),
        timedelta(minutes=40),
        timedelta(hours=1),
        timedelta(hours=1),
    ]


def test_the_last_question_is_asked_at_the_deadline_and_then_none() -> None:
    deadline = T0 + timedelta(days=1, hours=2)
    assert POLICY.next_check(T0, 40, deadline - timedelta(minutes=5)) == deadline
    assert POLICY.next_check(T0, 41, deadline) is None


@pytest.mark.parametrize(
    ("status", "payments", "expected"),
    [
        ("invoiced", [], Questions(list_invoice=True)),
        ("invoiced", [known("7", "confirming")], Questions(("7",))),
        ("invoiced", [known("7", "expired")], Questions(list_invoice=True)),
        ("failed", [known("7", "expired")], Questions(list_invoice=True)),
        ("paid", [known("7", "finished")], Questions()),
        ("paid", [known("7", "finished"), known("8", "waiting")], Questions(("8",))),
        ("refund_due", [known("7", "partially_paid")], Questions(("7",))),
    ],
)
def test_open_payments_are_asked_about_by_id_and_orders_without_one_by_invoice(
    status: str, payments: list[KnownPayment], expected: Questions
) -> None:
    assert questions(status, payments) == expected


def test_a_settled_order_with_nothing_open_is_done() -> None:
    assert questions("paid", [known("7", "finished")]).done
    assert not questions("invoiced", []).done


def test_only_what_we_have_not_heard_is_news() -> None:
    payments = {"7": known("7", "confirming", "waiting")}
    assert not is_news({"payment_id": 7, "payment_status": "waiting"}, payments)
    assert is_news({"payment_id": 7, "payment_status": "finished"}, payments)
    assert is_news({"payment_id": 8, "payment_status": "waiting"}, payments)
    assert not is_news({"payment_id": None, "payment_status": "finished"}, payments)
    assert not is_news({"payment_id": 8}, payments)
