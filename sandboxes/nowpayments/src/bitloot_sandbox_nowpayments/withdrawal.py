"""A payout ("withdrawal") as NOWPayments keeps it, and its documented JSON shapes.

NOWPayments' "Mass payouts" section: ``POST /v1/payout`` creates a batch (its `id`, the
"payout id" the verify and status calls take) of withdrawals, each with its own `id` and
the batch's `batch_withdrawal_id`. The docs list the statuses in lower case (creating,
waiting, processing, sending, finished, failed, rejected) while every example answer and
IPN writes them in capitals (``"WAITING"``, ``"CREATING"``, ``"FINISHED"``): the sandbox
writes capitals, as the examples do.
"""

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from bitloot_sandbox_common.callbacks import Delivery
from bitloot_sandbox_nowpayments.payment import Json, timestamp

# The documented payout statuses ("Create payout"), lower case as listed there.
PAYOUT_STATUSES = (
    "creating",
    "waiting",
    "processing",
    "sending",
    "finished",
    "failed",
    "rejected",
)
# Statuses a payout never leaves on its own; a failed or rejected one gave its funds back.
FINAL = frozenset({"finished", "failed", "rejected"})
RETURNED = frozenset({"failed", "rejected"})


@dataclass(frozen=True)
class PayoutIpnRecord:
    """One payout IPN: the status it carried and the receiver's answer (None: dropped)."""

    status: str
    url: str
    delivery: Delivery | None

    def as_json(self) -> Json:
        """The ledger's view of it."""
        if self.delivery is None:
            unsent: Json = {"url": self.url, "attempts": 0, "status_code": None, "error": None}
            return {"status": self.status, "dropped": True, **unsent, "sent_at": None}
        return {"status": self.status, "dropped": False, **self.delivery.as_json()}


@dataclass(frozen=True)
class NewWithdrawal:
    """One validated element of ``withdrawals`` in ``POST /v1/payout``."""

    address: str
    currency: str
    amount: Decimal
    extra_id: str | None
    ipn_callback_url: str | None
    unique_external_id: str | None
    payout_description: str | None


@dataclass
class Withdrawal:
    """One payout of a batch; `status` is lower case, written in capitals."""

    id: int
    batch_id: int
    address: str
    currency: str
    amount: Decimal
    extra_id: str | None
    ipn_callback_url: str | None
    unique_external_id: str | None
    payout_description: str | None
    created_at: datetime
    status: str = "creating"
    hash: str | None = None
    error: str | None = None
    requested_at: datetime | None = None
    updated_at: datetime | None = None
    ipns: list[PayoutIpnRecord] = field(default_factory=list)

    def move(self, status: str, at: datetime, error: str | None = None) -> None:
        """Move to `status` at `at`; a finished payout gets its transaction hash."""
        self.status = status
        self.updated_at = at
        if status == "waiting" and self.requested_at is None:
            self.requested_at = at
        if status in ("sending", "finished") and self.hash is None:
            self.hash = secrets.token_hex(32)
        if error is not None:
            self.error = error

    def as_json(self) -> Json:
        """The withdrawal object of the create answer, the status answer and the list."""
        return {
            "id": str(self.id),
            "address": self.address,
            "currency": self.currency,
            "amount": format(self.amount, "f"),
            "batch_withdrawal_id": str(self.batch_id),
            "ipn_callback_url": self.ipn_callback_url,
            "status": self.status.upper(),
            "extra_id": self.extra_id,
            "hash": self.hash,
            "error": self.error,
            "is_request_payouts": False,
            "payout_description": self.payout_description,
            "unique_external_id": self.unique_external_id,
            "created_at": timestamp(self.created_at),
            "requested_at": _stamp(self.requested_at),
            "updated_at": _stamp(self.updated_at),
        }

    def ipn_body(self) -> Json:
        """The documented "Withdrawals" webhook example's fields: no
        `unique_external_id`, `payout_description` or `is_request_payouts`, a `fee`."""
        document = self.as_json()
        for absent in ("unique_external_id", "payout_description", "is_request_payouts"):
            del document[absent]
        return {**document, "fee": None}

    def ledger(self) -> Json:
        """The withdrawal with the IPNs sent (or dropped) about it."""
        return {**self.as_json(), "ipns": [record.as_json() for record in self.ipns]}


def _stamp(moment: datetime | None) -> str | None:
    return timestamp(moment) if moment is not None else None
