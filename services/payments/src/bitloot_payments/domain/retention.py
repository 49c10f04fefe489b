"""How long the IPN logs (payment IPNs in ``ipn_log``, payout IPNs in ``payout_ipns``)
keep what: pure rules, no I/O.

An IPN whose signature failed (missing, wrong, unreadable body) proves nothing and is
kept only to look into attacks and misconfigured secrets: `unauthenticated` (30 days by
default). An authentic IPN (or a polled status) is the record of a payment: it is kept
`authenticated` (400 days by default: a year of accounts and disputes, with margin), and
past that only once nothing can still need it:

- it has been processed (not pending, not given up as ``error`` and waiting for an admin's
  replay);
- no flag names it (flags are an admin's record and point at their IPN);
- its order, if it names one we know, has ended: closed unpaid (`expired`, `failed`),
  `refunded`, or paid with its fulfilment ended (`fulfilled`, `refunded`; `failed` only
  once a refund of it is closed) — and none of its refunds is still owed.

Payout IPNs (NOWPayments' reports on a refund's payout) follow the same two periods. An
authentic one goes only once processed (not pending) and once its payout, if we know it
by NOWPayments' id, is final and its refund no longer owed; one that named a payout we did
not know (``unknown_payout``: its create answer was lost) is kept while any payout is
still `requesting`, since resolving that payout may adopt it.
"""

from typing import Final

from bitloot_payments.domain.payout import FINAL, REQUESTING
from bitloot_payments.domain.refunds import (
    APPROVED,
    CANCELED,
    CLAIMED,
    DUE,
    FAILED,
    REFUNDED_OUTSIDE,
    REJECTED,
    SENDING,
    SENT,
)

# Order statuses after which no payment of the order changes anything by itself.
ORDER_ENDED: Final = ("expired", "failed", "refunded")
# Fulfilment states of a paid order that end it; a failed one ends when its refund does.
FULFILMENT_ENDED: Final = ("fulfilled", "refunded")
FULFILMENT_FAILED: Final = "failed"
REFUND_OWED: Final = (DUE, CLAIMED, APPROVED, SENDING, FAILED)
REFUND_CLOSED: Final = (SENT, REJECTED, REFUNDED_OUTSIDE, CANCELED)
# Payout statuses after which no report changes the payout; the one still awaiting an answer.
PAYOUT_ENDED: Final = tuple(sorted(FINAL))
PAYOUT_REQUESTING: Final = REQUESTING
