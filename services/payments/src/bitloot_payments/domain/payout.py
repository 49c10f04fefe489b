"""A refund's payout: our id for each attempt, the order of its statuses, and what each
final status means for the refund. Pure rules, no I/O.

Our statuses before NOWPayments' own: `requesting` (the row is committed and NOWPayments
asked; its answer not known yet) and `refused` (NOWPayments refused: surely nothing was
created). NOWPayments' statuses move one way, creating → waiting → processing → sending
→ finished (or failed, rejected); IPNs and polls may report them late or out of order,
and an older report never moves a payout back.
"""

from decimal import ROUND_DOWN, Decimal

REQUESTING = "requesting"
REFUSED = "refused"
RANKS = {
    REQUESTING: 0,
    "creating": 1,
    "waiting": 2,
    "processing": 3,
    "sending": 4,
    "finished": 5,
    "failed": 5,
    "rejected": 5,
    REFUSED: 5,
}
FINAL = frozenset(status for status, rank in RANKS.items() if rank == 5)
# A payout in one of these paid nothing and never will: the refund may be paid again.
DEAD = frozenset({"failed", "rejected", REFUSED})
# NOWPayments: the amount "Must not exceed 6 decimals".
PAYOUT_QUANTUM = Decimal("0.000001")


def external_id(refund_id: int, attempt: int) -> str:
    """The ``unique_external_id`` of a refund's payout attempt: ``refund-<id>``, then
    ``refund-<id>-2``, ``refund-<id>-3``…"""
    return f"refund-{refund_id}" if attempt == 1 else f"refund-{refund_id}-{attempt}"


def advances(current: str, reported: str) -> bool:
    """Whether a report of `reported` moves a payout now in `current`: only forward, never
    out of a final status, never to a status we do not know."""
    if current in FINAL or reported not in RANKS:
        return False
    return RANKS[reported] > RANKS[current]


def refund_status_after(payout_status: str) -> str | None:
    """The refund's status once its payout reaches `payout_status` (None: still sending)."""
    if payout_status == "finished":
        return "sent"
    if payout_status in DEAD:
        return "failed"
    return None


def payout_amount(amount: Decimal) -> Decimal:
    """What NOWPayments can be asked to send: `amount` cut to 6 decimals, never rounded
    up (a refund pays back at most what was paid)."""
    return amount.quantize(PAYOUT_QUANTUM, rounding=ROUND_DOWN)
