"""Each chaos check passes on what a sound run leaves behind and fails on each way the
run could go wrong, so a green summary table means something."""

import json
from collections import Counter
from email.message import EmailMessage
from typing import Any

from bitloot_launch import infra
from chaos.refunds import RefundDesk
from chaos.stack import Tapped
from chaos.verify import (
    distinct_key_emails,
    emails_check,
    event_check,
    ledger_check,
    orders_check,
    parked_check,
    refund_check,
    refund_desk_check,
    refund_emails_check,
    reveal_check,
)

ORDERS = {"o1": "a@x.test", "o2": "b@x.test"}


def entry(order_id: str) -> dict[str, Any]:
    return {"orderExternalId": order_id, "duplicate_attempts": 0, "keys": []}


def fulfilled(order_id: str, event_id: str | None = None) -> Tapped:
    body = {"order_id": order_id, "event_id": event_id or f"event of {order_id}"}
    return Tapped("order.fulfilled", json.dumps(body).encode(), b"{}")


def test_every_order_must_end_fulfilled() -> None:
    assert orders_check(ORDERS, {"o1": "fulfilled", "o2": "fulfilled"}).ok
    stuck = orders_check(ORDERS, {"o1": "fulfilled", "o2": "delivering"})
    assert not stuck.ok
    assert stuck.details == ["o2: delivering"]
    assert not orders_check(ORDERS, {"o1": "fulfilled"}).ok  # o2 was never paid
    assert not orders_check({}, {}).ok  # a run without orders proves nothing


def test_each_order_is_bought_from_kinguin_exactly_once() -> None:
    assert ledger_check(ORDERS, [entry("o1"), entry("o2")]).ok
    twice = ledger_check(ORDERS, [entry("o1"), entry("o2"), entry("o2")])
    assert not twice.ok
    assert twice.details == ["bought twice: o2"]
    assert not ledger_check(ORDERS, [entry("o1")]).ok
    assert not ledger_check(ORDERS, [entry("o1"), entry("o2"), entry("o3")]).ok


def test_each_order_is_emailed_exactly_once() -> None:
    assert emails_check(ORDERS, Counter({"a@x.test": 1, "b@x.test": 1})).ok
    assert not emails_check(ORDERS, Counter({"a@x.test": 1, "b@x.test": 2})).ok
    assert not emails_check(ORDERS, Counter({"a@x.test": 1})).ok


def test_an_unconfirmed_email_may_be_missing_but_never_doubled() -> None:
    missing = emails_check(ORDERS, Counter({"a@x.test": 1}), unconfirmed={"o2"})
    assert missing.ok
    assert "unconfirmed: o2 (0 received)" in missing.details
    doubled = Counter({"a@x.test": 1, "b@x.test": 2})
    assert not emails_check(ORDERS, doubled, unconfirmed={"o2"}).ok


def test_a_parked_message_needs_a_reason_and_an_order_that_still_ended_well() -> None:
    states = {"o1": "fulfilled", "o2": "reserving"}
    letter = {"service": "delivery", "topic": "keys.delivered", "reason": "exhausted",
              "error": "S3 unreachable", "order_id": "o1"}  # fmt: skip
    assert parked_check([letter], states).ok
    assert not parked_check([{**letter, "reason": ""}], states).ok
    assert not parked_check([{**letter, "error": None}], states).ok
    assert not parked_check([{**letter, "order_id": "o2"}], states).ok


def test_each_order_has_exactly_one_fulfilled_event_on_the_bus() -> None:
    assert event_check([fulfilled("o1"), fulfilled("o2")], ORDERS).ok
    twice = [fulfilled("o1"), fulfilled("o1", "a second event"), fulfilled("o2")]
    assert not event_check(twice, ORDERS).ok
    assert not event_check([fulfilled("o1")], ORDERS).ok


def test_a_copy_of_the_same_event_published_again_is_counted_once_and_reported() -> None:
    again = event_check([fulfilled("o1"), fulfilled("o1"), fulfilled("o2")], ORDERS)
    assert again.ok
    assert "1 published again with the same id" in again.found


def test_every_customer_must_see_the_keys_kinguin_issued() -> None:
    assert reveal_check({"o1": True, "o2": True}).ok
    assert not reveal_check({"o1": True, "o2": False}).ok  # a wrong key, or a refusal
    unopened = reveal_check({"o1": True, "o2": None})  # judged by the email check
    assert unopened.ok
    assert unopened.details == ["no email: o2"]
    assert not reveal_check({}).ok


def _mail(to: str, message_id: str, kind: str = "delivery", text: str = "") -> infra.Mail:
    message = EmailMessage()
    message["X-BitLoot-Email"], message["Message-ID"] = kind, message_id
    if text:
        message.set_content(text)
    return infra.Mail(0.0, (to,), message)


def test_copies_of_one_message_id_are_one_email_but_two_ids_are_two() -> None:
    collapsed = [_mail("a@x.test", "<1@b>"), _mail("a@x.test", "<1@b>"), _mail("b@x.test", "<2@b>")]
    assert emails_check(ORDERS, distinct_key_emails(collapsed)).ok
    twice = [_mail("a@x.test", "<1@b>"), _mail("a@x.test", "<3@b>"), _mail("b@x.test", "<2@b>")]
    assert not emails_check(ORDERS, distinct_key_emails(twice)).ok


def test_a_notice_is_not_a_key_email() -> None:
    notice = _mail("a@x.test", "<9@b>", "delayed")
    assert distinct_key_emails([notice, _mail("a@x.test", "<1@b>")]) == Counter({"a@x.test": 1})


# The refund path: o1 is fulfilled, r1 bought the product Kinguin refuses.
WITH_REFUND = {"o1": "a@x.test", "r1": "r@x.test"}
REFUNDS = {"r1"}
ADDRESS = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
HASH = "9f" * 32


def test_a_refund_order_must_end_failed_and_every_other_fulfilled() -> None:
    assert orders_check(WITH_REFUND, {"o1": "fulfilled", "r1": "failed"}, REFUNDS).ok
    assert not orders_check(WITH_REFUND, {"o1": "failed", "r1": "failed"}, REFUNDS).ok
    assert not orders_check(WITH_REFUND, {"o1": "fulfilled", "r1": "fulfilled"}, REFUNDS).ok
    assert not orders_check(WITH_REFUND, {"o1": "fulfilled"}, REFUNDS).ok  # r1 never paid
    assert not orders_check({"r1": "r@x.test"}, {"r1": "failed"}, REFUNDS).ok  # none fulfilled


def test_nothing_is_bought_from_kinguin_for_a_refund_order() -> None:
    assert ledger_check(WITH_REFUND, [entry("o1")], REFUNDS).ok
    bought = ledger_check(WITH_REFUND, [entry("o1"), entry("r1")], REFUNDS)
    assert not bought.ok
    assert bought.details == ["bought for a refund order: r1"]
    assert not ledger_check(WITH_REFUND, [], REFUNDS).ok  # o1 not bought


def test_a_parked_message_of_a_refund_order_is_explained_by_the_order_failing() -> None:
    letter = {"service": "fulfillment", "topic": "reservation.failed", "reason": "exhausted",
              "error": "PostgreSQL restarting", "order_id": "r1"}  # fmt: skip
    assert parked_check([letter], {"r1": "failed"}, REFUNDS).ok
    assert not parked_check([letter], {"r1": "failed"}).ok  # a normal order that failed
    assert not parked_check([letter], {"r1": "reserving"}, REFUNDS).ok


def test_no_fulfilled_event_for_a_refund_order() -> None:
    assert event_check([fulfilled("o1")], WITH_REFUND, REFUNDS).ok
    assert not event_check([fulfilled("o1"), fulfilled("r1")], WITH_REFUND, REFUNDS).ok
    assert not event_check([], WITH_REFUND, REFUNDS).ok


def refund(**changes: Any) -> dict[str, Any]:
    found = {"id": 7, "order_id": "r1", "status": "sent", "amount": "8.05",
             "currency": "usdttrc20", "transaction_id": HASH}  # fmt: skip
    return {**found, **changes}


def payout(**changes: Any) -> dict[str, Any]:
    found = {"unique_external_id": "refund-7", "status": "FINISHED", "address": ADDRESS,
             "currency": "usdttrc20", "amount": "8.050000", "hash": HASH}  # fmt: skip
    return {**found, **changes}


def refunded(recorded: list[dict[str, Any]], withdrawals: list[dict[str, Any]]) -> bool:
    return refund_check(WITH_REFUND, REFUNDS, recorded, withdrawals, {"r1": ADDRESS}).ok


def test_a_refund_is_paid_once_to_the_claimed_address_and_recorded_with_its_hash() -> None:
    assert refunded([refund()], [payout()])
    assert refunded([refund()], [payout(unique_external_id="refund-7-2")])  # a new attempt


def test_a_refund_paid_twice_or_never_fails() -> None:
    assert not refunded([refund()], [payout(), payout(unique_external_id="refund-7-2")])
    assert not refunded([refund()], [])
    assert not refunded([], [])  # no refund recorded for r1
    assert not refunded([refund(), refund(id=8)], [payout()])  # owed twice


def test_a_refund_paid_wrong_fails() -> None:
    assert not refunded([refund()], [payout(status="FAILED")])
    assert not refunded([refund()], [payout(status="PROCESSING")])
    assert not refunded([refund()], [payout(address="0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")])
    assert not refunded([refund()], [payout(amount="80.5")])
    assert not refunded([refund()], [payout(currency="btc")])
    assert not refunded([refund(status="sending")], [payout()])
    assert not refunded([refund(transaction_id=None)], [payout()])
    assert not refunded([refund(transaction_id="another")], [payout()])
    assert not refunded([refund(transaction_id=None)], [payout(hash=None)])


def test_no_refund_nor_payout_for_anything_but_a_refund_order() -> None:
    assert not refunded([refund(), refund(id=9, order_id="o1")], [payout()])
    assert not refunded([refund()], [payout(), payout(unique_external_id="refund-99")])
    # refund-70 is another refund's payout, not a second attempt of refund-7
    assert not refunded([refund()], [payout(), payout(unique_external_id="refund-70")])
    assert not refund_check({"o1": "a@x.test"}, set(), [], [], {}).ok  # no refund proves nothing


def refund_mails(*extra: infra.Mail) -> list[infra.Mail]:
    return [
        _mail("a@x.test", "<1@b>"),
        _mail("r@x.test", "<2@b>", "refund_due", "Claim: http://x/refunds/claim?token=t"),
        _mail("r@x.test", "<3@b>", "refund_sent", f"Sent, transaction {HASH}."),
        *extra,
    ]


def told(mails: list[infra.Mail], paid: str | None = HASH) -> bool:
    return refund_emails_check(WITH_REFUND, REFUNDS, mails, {"r1": paid}).ok


def test_a_refund_customer_hears_once_per_event_and_never_gets_a_key() -> None:
    assert told(refund_mails())
    assert told(refund_mails(_mail("r@x.test", "<2@b>", "refund_due", "same message again")))
    assert not told(refund_mails(_mail("r@x.test", "<4@b>", "refund_due", "a second one")))
    assert not told(refund_mails(_mail("r@x.test", "<5@b>", "refund_sent", f"again {HASH}")))
    assert not told(refund_mails(_mail("r@x.test", "<6@b>")))  # a key email
    assert not told(refund_mails()[:2])  # never told it was sent
    assert not told(refund_mails()[::2])  # never told it was due
    assert not told(refund_mails(), paid="another transaction")
    assert not told(refund_mails(), paid=None)


def test_a_fulfilled_order_gets_no_refund_email() -> None:
    for kind in ("refund_due", "refund_sent", "claim_link"):
        assert not told(refund_mails(_mail("a@x.test", "<7@b>", kind, "refund")))
    assert not refund_emails_check({"o1": "a@x.test"}, set(), refund_mails()[:1], {}).ok


def test_each_refund_must_be_claimed_and_approved_without_a_refusal() -> None:
    assert refund_desk_check(REFUNDS, RefundDesk({"r1": ADDRESS}, {"r1": 7})).ok
    assert not refund_desk_check(REFUNDS, RefundDesk({"r1": ADDRESS}, {})).ok
    assert not refund_desk_check(REFUNDS, RefundDesk({}, {})).ok
    refused = RefundDesk({"r1": ADDRESS}, {"r1": 7}, problems=["r1: claim refused 422"])
    assert not refund_desk_check(REFUNDS, refused).ok
    assert not refund_desk_check(set(), RefundDesk()).ok
