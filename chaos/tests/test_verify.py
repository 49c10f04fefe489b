"""Each chaos check passes on what a sound run leaves behind and fails on each way the
run could go wrong, so a green summary table means something."""

import json
from collections import Counter
from email.message import EmailMessage
from typing import Any

from bitloot_demo import infra
from chaos.stack import Tapped
from chaos.verify import (
    distinct_key_emails,
    emails_check,
    event_check,
    ledger_check,
    orders_check,
    parked_check,
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


def _mail(to: str, message_id: str, kind: str = "delivery") -> infra.Mail:
    message = EmailMessage()
    message["X-BitLoot-Email"], message["Message-ID"] = kind, message_id
    return infra.Mail(0.0, (to,), message)


def test_copies_of_one_message_id_are_one_email_but_two_ids_are_two() -> None:
    collapsed = [_mail("a@x.test", "<1@b>"), _mail("a@x.test", "<1@b>"), _mail("b@x.test", "<2@b>")]
    assert emails_check(ORDERS, distinct_key_emails(collapsed)).ok
    twice = [_mail("a@x.test", "<1@b>"), _mail("a@x.test", "<3@b>"), _mail("b@x.test", "<2@b>")]
    assert not emails_check(ORDERS, distinct_key_emails(twice)).ok


def test_a_notice_is_not_a_key_email() -> None:
    notice = _mail("a@x.test", "<9@b>", "delayed")
    assert distinct_key_emails([notice, _mail("a@x.test", "<1@b>")]) == Counter({"a@x.test": 1})
