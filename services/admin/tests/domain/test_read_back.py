"""After an action the result page says what the service reports it did."""

from uuid import uuid4

from bitloot_admin.domain.read_back import email_read_back, saga_read_back
from bitloot_admin.domain.views import Saga


def test_an_email_read_back_says_how_it_ended_or_that_it_is_still_under_way() -> None:
    sent_at = "2026-12-06T02:00:00.123+01:00"
    sent = email_read_back(7, {"id": 7, "status": "sent", "sent_at": sent_at})
    assert sent.tone == "ok"
    assert sent.text == (
        "Delivery reports: Email #7 sent, accepted by the mail server at 2026-12-06 01:00:00 UTC."
    )
    assert email_read_back(7, {"status": "pending"}).tone == "wait"
    failed = email_read_back(7, {"status": "failed", "attempts": 5, "last_error": "550"})
    assert (failed.tone, failed.text) == (
        "bad",
        "Delivery reports: Email #7 failed after 5 attempt(s): 550",
    )
    assert "may not have arrived" in email_read_back(7, {"status": "unconfirmed"}).text
    assert "does not list email #7" in email_read_back(7, None).text
    assert "did not answer" in email_read_back(7, {"status": "unanswered"}).text


def test_a_saga_read_back_says_where_fulfillment_has_the_order_now() -> None:
    def saga(state: str, stage: str | None = None, reason: str | None = None) -> Saga:
        return Saga(order_id=uuid4(), state=state, failure_stage=stage, failure_reason=reason)

    assert saga_read_back(saga("fulfilled")).tone == "ok"
    assert saga_read_back(saga("reserving")).text.startswith(
        "Fulfillment reports: the order is reserving;"
    )
    again = saga_read_back(saga("failed", "reservation", "product_unavailable: none"))
    assert (again.tone, again.text) == (
        "bad",
        "Fulfillment reports: the order failed again at reservation: product_unavailable: none",
    )
    assert saga_read_back(None).tone == "bad"
