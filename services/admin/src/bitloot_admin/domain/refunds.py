"""Refunds as the admin acts on them: the decisions open to a refund in each status, the
notices an admin may send again, and a refund's reason, address and history in words.
Pure data and rules.

Payments owns each refund and decides every decision (it refuses one its status does not
allow, with a 409 the admin passes on); the admin offers only the decisions payments
would take, asks before each, and refuses a note or transaction id payments would refuse
before anything is sent."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final, get_args
from uuid import UUID

from bitloot_contracts.customer import CustomerStatus
from bitloot_contracts.events.refund import RefundStatus

REFUND_STATUSES: Final[tuple[str, ...]] = get_args(RefundStatus)
CUSTOMER_STATUSES: Final[tuple[str, ...]] = get_args(CustomerStatus)
# A blockchain transaction id or a bank reference: what payments keeps of one.
MAX_TRANSACTION_ID = 128


@dataclass(frozen=True)
class RefundDecision:
    """One decision on a refund: `name` as payments' path spells it, the audit's
    `action`, the statuses it is open to, what its button says and means, the title of
    its result (``{id}``: the refund's) and the question asked before it."""

    name: str
    action: str
    open_to: frozenset[str]
    label: str
    means: str
    title: str
    confirm: str
    note_required: bool = False
    takes_transaction_id: bool = False


DECISIONS: Mapping[str, RefundDecision] = {
    decision.name: decision
    for decision in (
        RefundDecision(
            "approve",
            "refund_approve",
            frozenset({"claimed", "failed"}),
            "Approve the payout",
            "NOWPayments pays the amount to the address the customer gave (a failed payout "
            "is tried again with a new attempt id).",
            "Approve refund #{id}",
            "Approve this refund? The money is paid out to the customer's address.",
        ),
        RefundDecision(
            "reject",
            "refund_reject",
            frozenset({"due", "claimed", "failed"}),
            "Reject",
            "Nothing is paid: the refund is closed as rejected, with your note saying why.",
            "Reject refund #{id}",
            "Reject this refund? Nothing will be paid to the customer.",
            note_required=True,
        ),
        RefundDecision(
            "refunded-outside",
            "refund_refunded_outside",
            frozenset({"due", "claimed", "approved", "failed"}),
            "Refunded outside BitLoot",
            "The money went back another way: the refund is closed as refunded, with your "
            "note and the transaction id if there is one. The customer is told.",
            "Record refund #{id} as refunded outside BitLoot",
            "Record this refund as paid outside BitLoot? No payout will be made.",
            note_required=True,
            takes_transaction_id=True,
        ),
    )
}


def open_decisions(status: str) -> list[RefundDecision]:
    """The decisions payments takes for a refund in `status`, in the order shown."""
    return [decision for decision in DECISIONS.values() if status in decision.open_to]


@dataclass(frozen=True)
class Notice:
    """A customer notice delivery sent once and an admin may send again: `kind` as
    delivery names it, what the button says and the question asked first."""

    kind: str
    label: str
    confirm: str


NOTICES: Mapping[str, Notice] = {
    notice.kind: notice
    for notice in (
        Notice(
            "refund_due",
            "Resend the refund-due notice",
            "Send the customer the refund-due email again, with a fresh claim link?",
        ),
        Notice(
            "refund_sent",
            "Resend the refund-sent notice",
            "Send the customer the refund-sent email again?",
        ),
        Notice("delayed", "Resend the delay notice", "Send the customer the delay email again?"),
    )
}

# Refunding a fulfilled order whose keys nobody revealed revokes them at delivery.
REFUND_UNREVEALED_CONFIRM = (
    "Refund this order? Its keys are revoked (the reveal page will say the order was "
    "refunded) and a refund becomes due. This cannot be undone."
)


# What a refusal by payments or delivery means to the admin who asked, by its code.
REFUSALS: Final[Mapping[str, str]] = {
    "keys_revealed": "A key of this order was already revealed to the customer, so it "
    "cannot be refunded as unrevealed.",
    "already_revoked": "The keys of this order were already revoked: its refund is on its way.",
    "no_keys": "Delivery holds no keys for this order: it was never fulfilled.",
    "not_claimed": "Only a claimed refund, or one whose payout failed, can be approved.",
    "refund_closed": "The refund is already closed (or its payout is being sent).",
    "note_required": "Say why in the note.",
    "no_such_notice": "That notice was never sent for this order, so there is nothing to resend.",
    "dead_letter_already_replayed": "This message was already replayed and has not been "
    "parked again since; use “Replay again” on the dead letters page (include replayed) if "
    "it must be sent once more.",
}


class BadTransactionId(ValueError):
    def __init__(self, length: int) -> None:
        super().__init__(
            f"The transaction id has {length} characters; give at most {MAX_TRANSACTION_ID} "
            "letters, digits, '-', '_', ':' or '.'."
        )


def clean_transaction_id(raw: str | None) -> str | None:
    """A transaction id as payments should get it: trimmed, None when blank;
    `BadTransactionId` for one too long or with other characters than an id has."""
    if raw is None or not raw.strip():
        return None
    found = raw.strip()
    if len(found) > MAX_TRANSACTION_ID or not all(c.isalnum() or c in "-_:." for c in found):
        raise BadTransactionId(len(found))
    return found


_CAUSES: Final[Mapping[str, str]] = {
    "reservation": "no stock could be reserved at Kinguin",
    "kinguin": "Kinguin did not deliver the keys",
    "delivery": "the keys could not be delivered",
    "deadline": "nothing arrived before the deadline",
}


def reason_in_words(reason: str, cause: str | None = None) -> str:
    """Why money goes back, as an operator reads it."""
    if reason == "order_failed":
        why = _CAUSES.get(cause or "", f"at {cause}" if cause else "")
        return f"Order failed ({why})" if why else "Order failed"
    if reason == "keys_unrevealed":
        return "Refunded by an admin, keys never revealed"
    return f"Payment flag: {reason.replace('_', ' ')}"


def short_address(address: str | None) -> str:
    """A payout address short enough for a table cell: its start and end, which is how
    an operator compares one with what the customer says."""
    if not address:
        return "—"
    return address if len(address) <= 16 else f"{address[:8]}…{address[-6:]}"


_STATUS_WORDS: Final[Mapping[str, str]] = {
    "due": "due — waiting for the customer's address",
    "claimed": "claimed — waiting for an admin",
    "approved": "approved — payout about to be sent",
    "sending": "sending — payout under way",
    "sent": "sent",
    "failed": "failed — the payout did not go through",
    "rejected": "rejected",
    "refunded_outside": "refunded outside BitLoot",
    "canceled": "canceled — the order was fulfilled after all",
}


def status_in_words(status: str) -> str:
    return _STATUS_WORDS.get(status, status)


def customer_status_in_words(status: str | None) -> str:
    """A customer status as the admin shows it (``refund_due`` → ``refund due``)."""
    return status.replace("_", " ") if status else "—"


@dataclass(frozen=True)
class Step:
    """One line of a refund's own history."""

    at: datetime
    what: str


def refund_history(
    created_at: datetime | None,
    claimed_at: datetime | None,
    decided_at: datetime | None,
    decided: str | None,
    updated_at: datetime | None,
    status: str,
) -> list[Step]:
    """The refund's history as its own fields tell it, oldest first: recorded due,
    claimed, decided (`decided` says by whom and how), and its status at the last change
    when that is later than the rest."""
    steps: list[Step] = []
    if created_at is not None:
        steps.append(Step(created_at, "Recorded as due"))
    if claimed_at is not None:
        steps.append(Step(claimed_at, "Claimed: the customer gave a payout address"))
    if decided_at is not None and decided:
        steps.append(Step(decided_at, decided))
    latest = max((step.at for step in steps), default=None)
    if updated_at is not None and (latest is None or updated_at > latest):
        steps.append(Step(updated_at, f"Now {status_in_words(status)}"))
    return sorted(steps, key=lambda step: step.at)


_TOPIC_WORDS: Final[Mapping[str, str]] = {
    "keys.revoked": "Keys revoked at delivery (the order is refunded)",
    "refund.claim_link_requested": "The customer asked for a new claim link",
}


@dataclass(frozen=True)
class Activity:
    """One bus event of an order's refund story, as the admin's projection keeps it."""

    event_id: UUID
    order_id: UUID
    topic: str
    status: str
    at: datetime


def activity_in_words(topic: str, status: str) -> str:
    """A line of the admin's projection (topic and recorded status) as an operator reads
    it on the order's timeline."""
    if topic in _TOPIC_WORDS:
        return _TOPIC_WORDS[topic]
    if topic == "refund.status_changed":
        return f"Refund {status_in_words(status.removeprefix('refund_'))}"
    return f"{topic}: {status}"
