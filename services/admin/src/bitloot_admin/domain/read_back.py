"""What an action did, in the words of the service that did it, read back after it.

A service accepting an action says only that it will act: delivery queues the email,
fulfillment moves the saga and lets the gateway and delivery take it from there. So the
result page asks again (`handlers.repairs.ReadBackOrder`) and says what the service
reports now: the email's status at delivery (sent, failed, still queued), the saga's
state at fulfillment. These functions word what came back.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal

from pydantic import JsonValue

from bitloot_admin.domain.views import Saga

# An email delivery has not finished with yet: worth asking again for a moment.
EMAIL_UNSETTLED: Final = frozenset({"pending", "sending"})
# A saga still on its way: the result page waits a moment for it to end.
SAGA_UNSETTLED: Final = frozenset({"paid", "reserving", "reserved", "keys_requested", "delivering"})
# The status of an email read back from a delivery that did not answer.
UNANSWERED: Final = "unanswered"


@dataclass(frozen=True)
class ReadBack:
    """What the service reports now, and whether that is the good end (`ok`), a bad one
    (`bad`) or still under way (`wait`)."""

    tone: Literal["ok", "bad", "wait"]
    text: str


def email_read_back(email_id: int, email: Mapping[str, JsonValue] | None) -> ReadBack:
    """Email `email_id` as delivery's email log has it now (None: not in the log)."""
    if email is None:
        return ReadBack("bad", f"Delivery does not list email #{email_id}; see its emails page.")
    status, name = str(email.get("status")), f"Email #{email_id}"
    if status == UNANSWERED:
        return ReadBack(
            "bad", "Delivery did not answer when asked again; see the order's emails page."
        )
    if status == "sent":
        return ReadBack(
            "ok",
            f"Delivery reports: {name} sent, accepted by the mail server at "
            f"{_utc(email.get('sent_at'))}.",
        )
    if status in EMAIL_UNSETTLED:
        waiting = "still queued" if status == "pending" else "being sent"
        return ReadBack(
            "wait", f"Delivery reports: {name} {waiting}; the order page shows how it ends."
        )
    if status == "unconfirmed":
        return ReadBack(
            "bad",
            f"Delivery reports: {name} unconfirmed, cut off while sending; "
            "it may not have arrived.",
        )
    if status == "failed":
        return ReadBack(
            "bad",
            f"Delivery reports: {name} failed after {email.get('attempts')} "
            f"attempt(s): {email.get('last_error')}",
        )
    return ReadBack("bad", f"Delivery reports: {name} {status}, not sent.")


def saga_read_back(saga: Saga | None) -> ReadBack:
    """The order's saga as fulfillment reports it now (None: it did not answer)."""
    if saga is None:
        return ReadBack(
            "bad", "Fulfillment did not report the order when asked again; see the order page."
        )
    state = saga.state.replace("_", " ")
    if saga.state == "fulfilled":
        return ReadBack("ok", "Fulfillment reports: the order is fulfilled.")
    if saga.state == "failed":
        return ReadBack(
            "bad",
            f"Fulfillment reports: the order failed again at {saga.failure_stage}: "
            f"{saga.failure_reason}",
        )
    if saga.state in SAGA_UNSETTLED:
        return ReadBack(
            "wait", f"Fulfillment reports: the order is {state}; the order page shows how it ends."
        )
    return ReadBack("bad", f"Fulfillment reports: the order is {state}.")


def _utc(value: JsonValue) -> str:
    """An ISO time as `2026-12-06 01:40:57 UTC`; anything else as it came."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
