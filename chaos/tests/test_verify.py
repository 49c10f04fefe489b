"""Each chaos check passes on what a sound run leaves behind and fails on each way the
run could go wrong, so a green summary table means something."""

import json
from collections import Counter
from collections.abc import Iterable
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from uuid import uuid4

from sqlalchemy import MetaData, func, insert

from bitloot_launch import infra
from bitloot_runtime.db import create_engine, migrate
from bitloot_runtime.tables import include_runtime_tables, outbox
from bitloot_testing.leaks import Found
from chaos.firehose import Published
from chaos.refunds import RefundDesk
from chaos.verify import (
    DEAD_LETTER_PAGE,
    Check,
    Page,
    distinct_key_emails,
    emails_check,
    event_check,
    every_page,
    key_leak_check,
    key_values,
    ledger_check,
    orders_check,
    outbox_published,
    parked_check,
    places_of,
    refund_check,
    refund_desk_check,
    refund_emails_check,
    reveal_check,
    scan,
)

ORDERS = {"o1": "a@x.test", "o2": "b@x.test"}
EVENTS = "chaos.bitloot.events"
ONE_EMAIL_EACH = Counter({"a@x.test": 1, "b@x.test": 1})
SAGAS_FULFILLED = {"o1": "fulfilled", "o2": "fulfilled"}


def entry(order_id: str, status: str = "completed") -> dict[str, Any]:
    """A Kinguin order of the sandbox's ledger."""
    return {"orderExternalId": order_id, "status": status, "duplicate_attempts": 0, "keys": []}


def purchase(order_id: str, status: int | None = 201, at: str = "12:00:00.000") -> dict[str, Any]:
    """A purchase request of the sandbox's purchase ledger, received at `at` (today,
    UTC) and answered 0.1 s later when it was."""
    answered = f"2026-12-05T{at[:-3]}{int(at[-3:]) + 100:03d}+00:00" if status else None
    return {"orderExternalId": order_id, "status": status, "at": f"2026-12-05T{at}+00:00",
            "answeredAt": answered}  # fmt: skip


def lookup(order_id: str, at: str, found: int = 0) -> dict[str, Any]:
    """A `GET /v1/order?orderExternalId=` of the sandbox's lookup ledger."""
    return {"orderExternalId": order_id, "at": f"2026-12-05T{at}+00:00", "found": found}


def page(customer_status: str = "delivered", saga: str = "fulfilled") -> dict[str, Any]:
    """An order as payments' public order page shows it to its customer."""
    return {"customer_status": customer_status, "fulfilment_state": saga, "status": "paid"}


DELIVERED = {"o1": page(), "o2": page()}
BOUGHT = [entry("o1"), entry("o2")]


def fulfilled(order_id: str, event_id: str | None = None, exchange: str = EVENTS) -> Published:
    body = {"order_id": order_id, "event_id": event_id or f"event of {order_id}"}
    return Published(exchange, "order.fulfilled", json.dumps(body).encode(), {}, {})


def orders_ok(
    views: dict[str, dict[str, Any]] = DELIVERED,
    states: dict[str, str] = SAGAS_FULFILLED,
    received: Counter[str] = ONE_EMAIL_EACH,
    entries: list[dict[str, Any]] = BOUGHT,
) -> bool:
    return orders_check(ORDERS, views, states, received, entries).ok


def test_every_order_must_end_fulfilled_by_every_witness() -> None:
    assert orders_ok()
    stuck = orders_check(ORDERS, DELIVERED, {"o1": "fulfilled", "o2": "delivering"},
                         ONE_EMAIL_EACH, BOUGHT)  # fmt: skip
    assert not stuck.ok
    assert stuck.details == ["o2: saga delivering"]
    assert not orders_ok(states={"o1": "fulfilled"})  # o2 was never paid
    assert not orders_check({}, {}, {}, Counter(), []).ok  # a run without orders proves nothing


def test_an_order_fulfilled_per_the_saga_but_not_on_its_customers_page_fails() -> None:
    told = orders_check(ORDERS, {"o1": page(), "o2": page("keys_ready")}, SAGAS_FULFILLED,
                        ONE_EMAIL_EACH, BOUGHT)  # fmt: skip
    assert not told.ok
    assert told.details == ["o2: payments tells its customer keys_ready (saga seen as fulfilled)"]
    assert not orders_ok(views={"o1": page(), "o2": page(saga="delivering")})
    assert not orders_ok(views={"o1": page(), "o2": {"customer_status": "answered 404"}})
    assert not orders_ok(views={"o1": page()})  # no page read for o2


def test_an_order_fulfilled_per_the_saga_without_an_email_or_a_kinguin_order_fails() -> None:
    unmailed = orders_check(ORDERS, DELIVERED, SAGAS_FULFILLED, Counter({"a@x.test": 1}), BOUGHT)
    assert not unmailed.ok
    assert unmailed.details == ["o2: no key email in the mailbox"]
    assert not orders_ok(entries=[entry("o1")])
    assert not orders_ok(entries=[entry("o1"), entry("o2", "processing")])
    assert not orders_ok(entries=[entry("o1"), entry("o2", "canceled")])


def test_each_order_is_bought_from_kinguin_exactly_once() -> None:
    purchases = [purchase("o1"), purchase("o2")]
    assert ledger_check(ORDERS, BOUGHT, purchases).ok
    twice = ledger_check(ORDERS, [*BOUGHT, entry("o2")], [*purchases, purchase("o2")])
    assert not twice.ok
    assert "bought twice: o2" in twice.details
    assert not ledger_check(ORDERS, [entry("o1")], purchases).ok
    assert not ledger_check(ORDERS, [*BOUGHT, entry("o3")], purchases).ok


def test_two_live_kinguin_orders_for_one_order_fail_even_under_another_external_id() -> None:
    # The gateway's second attempt (`<order id>-2`) while the first still stands.
    double = ledger_check(ORDERS, [*BOUGHT, entry("o2-2")], [])
    assert not double.ok
    assert double.details == ["bought twice: o2"]
    # A second attempt after the first was canceled is one live order.
    again = [entry("o1"), entry("o2", "canceled"), entry("o2-2")]
    assert ledger_check(ORDERS, again, [purchase("o1"), purchase("o2"), purchase("o2-2")]).ok


def test_a_repeated_purchase_request_fails_unless_the_first_was_rate_limited() -> None:
    # The sandbox placed one order only (the repeat was refused, or held): the request
    # itself is the defect, a lookup by GET was due.
    for first in (201, 503, None, 400):
        repeated = ledger_check(ORDERS, BOUGHT, [purchase("o1"), purchase("o2", first),
                                                 purchase("o2")])  # fmt: skip
        assert not repeated.ok, first
        assert repeated.details[0].startswith("purchase repeated: o2")
    limited = [purchase("o1"), purchase("o2", 429), purchase("o2", 429), purchase("o2")]
    assert ledger_check(ORDERS, BOUGHT, limited).ok


def test_a_repeat_after_a_5xx_passes_only_after_a_lookup_that_found_nothing() -> None:
    # Kinguin answered 503 and placed nothing; the gateway looked the order up by its
    # orderExternalId (documented), found none, and bought: one live order, allowed.
    first, again = purchase("o2", 503, "12:00:00.000"), purchase("o2", 201, "12:00:05.000")
    looked = [lookup("o2", "12:00:03.000")]
    assert ledger_check(ORDERS, BOUGHT, [purchase("o1"), first, again], lookups=looked).ok
    # No lookup, a lookup before the 503 was answered, one that found the order, or one
    # for another order: the repeat is a purchase the docs never allow.
    for looked in ([], [lookup("o2", "12:00:00.050")], [lookup("o2", "12:00:03.000", 1)],
                   [lookup("o1", "12:00:03.000")]):  # fmt: skip
        repeated = ledger_check(ORDERS, BOUGHT, [purchase("o1"), first, again], lookups=looked)
        assert not repeated.ok, looked
    # After a placed order no lookup excuses a second purchase request.
    placed = [purchase("o1"), purchase("o2", 201, "12:00:00.000"), again]
    assert not ledger_check(ORDERS, BOUGHT, placed, lookups=[lookup("o2", "12:00:03.000")]).ok


def test_each_order_is_emailed_exactly_once() -> None:
    assert emails_check(ORDERS, ONE_EMAIL_EACH).ok
    assert not emails_check(ORDERS, Counter({"a@x.test": 1, "b@x.test": 2})).ok
    assert not emails_check({}, Counter()).ok


def test_zero_emails_fail_whatever_delivery_says() -> None:
    # delivery may hold the email `unconfirmed`: the mailbox, not delivery, is the witness.
    missing = emails_check(ORDERS, Counter({"a@x.test": 1}))
    assert not missing.ok
    assert missing.details == ["b@x.test: 0 emails"]


def test_a_parked_message_needs_a_reason_and_an_order_that_still_ended_well() -> None:
    states = {"o1": "fulfilled", "o2": "reserving"}
    letter = {"service": "delivery", "topic": "keys.delivered", "reason": "exhausted",
              "error": "S3 unreachable", "order_id": "o1"}  # fmt: skip
    assert parked_check([letter], states).ok
    assert not parked_check([{**letter, "reason": ""}], states).ok
    assert not parked_check([{**letter, "error": None}], states).ok
    assert not parked_check([{**letter, "order_id": "o2"}], states).ok


def test_each_order_has_exactly_one_fulfilled_event_on_the_bus() -> None:
    assert event_check([fulfilled("o1"), fulfilled("o2")], EVENTS, ORDERS).ok
    twice = [fulfilled("o1"), fulfilled("o1", "a second event"), fulfilled("o2")]
    assert not event_check(twice, EVENTS, ORDERS).ok
    assert not event_check([fulfilled("o1")], EVENTS, ORDERS).ok


def test_a_retry_or_replay_of_an_event_is_not_a_second_event() -> None:
    retried = fulfilled("o2", "a retry", exchange="chaos.payments.delay.500ms")
    replayed = fulfilled("o2", "a replay", exchange="")
    bus = [fulfilled("o1"), fulfilled("o2"), retried, replayed]
    assert event_check(bus, EVENTS, ORDERS).ok
    assert not event_check([fulfilled("o1"), retried], EVENTS, ORDERS).ok


def test_a_copy_of_the_same_event_published_again_is_counted_once_and_reported() -> None:
    again = event_check([fulfilled("o1"), fulfilled("o1"), fulfilled("o2")], EVENTS, ORDERS)
    assert again.ok
    assert "1 published again with the same id" in again.found


def test_an_event_the_firehose_missed_counts_only_if_the_outbox_proves_it_published() -> None:
    proven = event_check([fulfilled("o1")], EVENTS, ORDERS, confirmed={"event of o2": "o2"})
    assert proven.ok
    assert "1 missed by the firehose, proven published by fulfillment's outbox" in proven.found
    # Missing from both witnesses: still missing.
    assert not event_check([fulfilled("o1")], EVENTS, ORDERS, confirmed={"event of o1": "o1"}).ok
    # What the outbox proves is counted too: a second event for an order is still one too many.
    again = {"event of o1": "o1", "another event": "o1", "event of o2": "o2"}
    assert not event_check([fulfilled("o1"), fulfilled("o2")], EVENTS, ORDERS, confirmed=again).ok


async def test_the_outbox_proves_only_published_events_of_the_topic(database_url: str) -> None:
    metadata = MetaData()
    include_runtime_tables(metadata)
    await migrate(database_url, metadata, [])
    published, waiting, other = uuid4(), uuid4(), uuid4()
    engine = create_engine(database_url, max_connections=1)
    try:
        async with engine.begin() as connection:
            for event_id, topic, stamped in (
                (published, "order.fulfilled", True),
                (waiting, "order.fulfilled", False),
                (other, "order.failed", True),
            ):
                await connection.execute(
                    insert(outbox).values(
                        event_id=event_id,
                        topic=topic,
                        order_id=event_id,
                        body=b"{}",
                        published_at=func.now() if stamped else None,
                    )
                )
    finally:
        await engine.dispose()
    found = await outbox_published(database_url, "order.fulfilled")
    assert found == {str(published): str(published)}


def test_every_customer_must_see_the_keys_kinguin_issued() -> None:
    assert reveal_check({"o1": True, "o2": True}).ok
    assert not reveal_check({"o1": True, "o2": False}).ok  # a wrong key, or a refusal
    unopened = reveal_check({"o1": True, "o2": None})  # no email: the keys never came
    assert not unopened.ok
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


def refund_orders_ok(
    views: dict[str, dict[str, Any]] | None = None,
    states: dict[str, str] | None = None,
    entries: list[dict[str, Any]] | None = None,
) -> bool:
    views = views or {"o1": page(), "r1": page("refunded", "failed")}
    states = states or {"o1": "fulfilled", "r1": "failed"}
    entries = entries if entries is not None else [entry("o1")]
    received = Counter({"a@x.test": 1})
    return orders_check(WITH_REFUND, views, states, received, entries, REFUNDS).ok


def test_a_refund_order_must_end_failed_and_refunded_and_every_other_fulfilled() -> None:
    assert refund_orders_ok()
    assert not refund_orders_ok(states={"o1": "failed", "r1": "failed"})
    assert not refund_orders_ok(states={"o1": "fulfilled", "r1": "fulfilled"})
    assert not refund_orders_ok(states={"o1": "fulfilled"})  # r1 never paid
    assert not refund_orders_ok(views={"o1": page(), "r1": page("refund_due", "failed")})
    assert not refund_orders_ok(entries=[entry("o1"), entry("r1")])  # Kinguin sold it
    only_refunds = orders_check({"r1": "r@x.test"}, {"r1": page("refunded", "failed")},
                                {"r1": "failed"}, Counter(), [], REFUNDS)  # fmt: skip
    assert not only_refunds.ok  # none fulfilled proves nothing


def test_nothing_is_bought_from_kinguin_for_a_refund_order() -> None:
    refused = [purchase("o1"), purchase("r1", 400)]
    assert ledger_check(WITH_REFUND, [entry("o1")], refused, REFUNDS).ok
    bought = ledger_check(WITH_REFUND, [entry("o1"), entry("r1")], refused, REFUNDS)
    assert not bought.ok
    assert bought.details == ["bought for a refund order: r1"]
    assert not ledger_check(WITH_REFUND, [], refused, REFUNDS).ok  # o1 not bought


def test_a_parked_message_of_a_refund_order_is_explained_by_the_order_failing() -> None:
    letter = {"service": "fulfillment", "topic": "reservation.failed", "reason": "exhausted",
              "error": "PostgreSQL restarting", "order_id": "r1"}  # fmt: skip
    assert parked_check([letter], {"r1": "failed"}, REFUNDS).ok
    assert not parked_check([letter], {"r1": "failed"}).ok  # a normal order that failed
    assert not parked_check([letter], {"r1": "reserving"}, REFUNDS).ok


def test_no_fulfilled_event_for_a_refund_order() -> None:
    assert event_check([fulfilled("o1")], EVENTS, WITH_REFUND, REFUNDS).ok
    assert not event_check([fulfilled("o1"), fulfilled("r1")], EVENTS, WITH_REFUND, REFUNDS).ok
    assert not event_check([], EVENTS, WITH_REFUND, REFUNDS).ok


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


# Dead letters: every page of each service's listing, newest first, paged by `before`.
def letter(letter_id: int, **changes: Any) -> dict[str, Any]:
    found = {"id": letter_id, "service": "delivery", "topic": "keys.delivered",
             "reason": "exhausted", "error": "S3 unreachable", "order_id": "o1"}  # fmt: skip
    return {**found, **changes}


def listing(letters: list[dict[str, Any]], pages_by_before: bool = True) -> Page:
    """A newest-first listing of `letters` serving pages of `DEAD_LETTER_PAGE`."""
    newest_first = sorted(letters, key=lambda item: -int(item["id"]))

    async def page(before: int | None) -> list[dict[str, Any]]:
        older = [item for item in newest_first if before is None or item["id"] < before]
        return (older if pages_by_before else newest_first)[:DEAD_LETTER_PAGE]

    return page


async def parked_ok(letters: list[dict[str, Any]], pages_by_before: bool = True) -> Check:
    found, complete = await every_page(listing(letters, pages_by_before))
    assert (
        sorted(item["id"] for item in found) == sorted(item["id"] for item in letters[: len(found)])
        or not complete
    )
    return parked_check(found, SAGAS_FULFILLED, unread=[] if complete else ["delivery"])


async def test_a_dead_letter_on_the_second_page_is_seen() -> None:
    explained = [letter(i) for i in range(1, DEAD_LETTER_PAGE + 1)]
    assert (await parked_ok(explained)).ok
    # The oldest letter (page 2, beyond the first 100) lost its reason.
    hidden = [letter(0, reason=""), *explained]
    second_page = await parked_ok(hidden)
    assert not second_page.ok
    assert second_page.found == f"{DEAD_LETTER_PAGE + 1} parked, 1 unexplained, 0 listings unread"


async def test_a_listing_that_does_not_page_fails_the_check() -> None:
    full = [letter(i) for i in range(1, DEAD_LETTER_PAGE + 2)]
    stuck = await parked_ok(full, pages_by_before=False)
    assert not stuck.ok
    assert "delivery: its listing does not page past a full page" in stuck.details
    # A short page is the last one, paged or not; a full one leaves the rest unknown.
    assert (await parked_ok(full[: DEAD_LETTER_PAGE - 1], pages_by_before=False)).ok
    assert not (await parked_ok(full[:DEAD_LETTER_PAGE], pages_by_before=False)).ok


# Leaks, with a scanner seeded by the test (the decoding one is bitloot_testing.leaks').
class PlainScanner:
    """Finds each value as plain text only, everywhere the checks look."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values, self.count = values, len(values)

    def find(self, where: str, haystack: bytes) -> list[Found]:
        return [
            Found(label, where, "text")
            for label, v in self.values.items()
            if v.encode() in haystack
        ]

    def find_all(self, haystacks: Iterable[tuple[str, bytes]]) -> list[Found]:
        return [found for where, text in haystacks for found in self.find(where, text)]

    def find_in_mail(self, where: str, raw: bytes) -> list[Found]:
        return self.find(where, raw)

    def find_in_tree(self, root: Path, where: str) -> tuple[list[Found], int]:
        files = [path for path in sorted(root.rglob("*")) if path.is_file()]
        texts = [(f"{where} {path.name}", path.read_bytes()) for path in files]
        return self.find_all(texts), sum(len(text) for _, text in texts)


KEY = "KEY01-AAAAA-BBBBB"
ISSUED = [{"orderExternalId": "o1", "keys": [{"serial": KEY}]}]


async def leaks(
    bus: list[Published], tree: Path, mail: bytes = b"Subject: keys\n\nopen link"
) -> Check:
    (tree / "base").mkdir(exist_ok=True)
    (tree / "base" / "16384").write_bytes(b"\x00 heap page")
    keys = PlainScanner(key_values(ISSUED))
    places = places_of(
        bus, [("database delivery", b"sealed")], [("log x", b"ok")], [("s3 k", b"x")]
    )
    scanned = await scan(keys, places, [("email to a@x.test", mail)], [("postgres data", tree)])
    return key_leak_check(keys, scanned)


def event_text(order_id: str, exchange: str = EVENTS, **body: str) -> Published:
    routing = "order.fulfilled" if exchange == EVENTS else "chaos.delivery.keys.delivered"
    return Published(exchange, routing, json.dumps({"order_id": order_id, **body}).encode(), {}, {})


async def test_a_key_in_a_retry_message_is_a_leak(tmp_path: Path) -> None:
    clean = [event_text("o1")]
    assert (await leaks(clean, tmp_path)).ok
    retry = event_text("o1", "chaos.delivery.delay.500ms", keys=KEY)
    found = await leaks([*clean, retry], tmp_path)
    assert not found.ok
    assert found.details == [
        "key of order o1 #0 in bus chaos.delivery.delay.500ms chaos.delivery.keys.delivered (text)"
    ]
    in_headers = Published("", "chaos.delivery.keys.delivered", b"{}", {"x-key": KEY}, {})
    assert not (await leaks([*clean, in_headers], tmp_path)).ok  # a replay's header


async def test_a_key_in_the_wal_or_an_email_is_a_leak(tmp_path: Path) -> None:
    clean = [event_text("o1")]
    (tmp_path / "pg_wal").mkdir()
    (tmp_path / "pg_wal" / "000000010000000000000001").write_bytes(b"old row " + KEY.encode())
    assert not (await leaks(clean, tmp_path)).ok
    (tmp_path / "pg_wal" / "000000010000000000000001").write_bytes(b"nothing")
    assert not (await leaks(clean, tmp_path, f"Subject: k\n\n{KEY}".encode())).ok


async def test_a_place_with_nothing_scanned_proves_nothing(tmp_path: Path) -> None:
    empty = await leaks([], tmp_path)
    assert not empty.ok
    assert "bus is empty: the scan proves nothing" in empty.details
