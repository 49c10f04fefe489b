"""When to ask NOWPayments what became of an order, and what to ask (pure: no I/O).

IPNs can be lost for good (NOWPayments gives up retrying, our endpoint was down, the
secret was misconfigured), so every invoiced order is checked against NOWPayments'
own record some time after its invoice was created, then at doubling intervals, until
it is settled with no payment still open, or its invoice's lifetime and a grace period
have passed. Known open payments are asked about one by one; an order with no open
payment is asked about through its invoice's payment list (which also finds a payment
whose every IPN was lost).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bitloot_payments.domain.payment import LIVE, SETTLED


@dataclass(frozen=True)
class ReconcilePolicy:
    """The schedule: first `after` the invoice, then doubling up to `max_interval`, until
    `lifetime` + `grace` after the invoice."""

    after: timedelta = timedelta(minutes=10)
    max_interval: timedelta = timedelta(hours=6)
    lifetime: timedelta = timedelta(days=7)
    grace: timedelta = timedelta(days=1)

    def deadline(self, invoiced_at: datetime) -> datetime:
        return invoiced_at + self.lifetime + self.grace

    def next_check(self, invoiced_at: datetime, attempts: int, now: datetime) -> datetime | None:
        """When to ask again after `attempts` questions (None: never, the deadline has
        passed). The last question is asked at the deadline itself."""
        deadline = self.deadline(invoiced_at)
        if now >= deadline:
            return None
        doubled = timedelta(seconds=self.after.total_seconds() * 2.0 ** min(attempts, 30))
        wait = min(doubled, self.max_interval)
        return min(now + wait, deadline)


@dataclass(frozen=True)
class KnownPayment:
    """A payment of the order as we know it: its status and every status seen."""

    payment_id: str
    status: str
    seen: frozenset[str]


@dataclass(frozen=True)
class Questions:
    """What to ask NOWPayments about one order: each open payment by id, and/or the
    invoice's payment list; `done` when nothing is left to ask."""

    payments: tuple[str, ...] = ()
    list_invoice: bool = False

    @property
    def done(self) -> bool:
        return not self.payments and not self.list_invoice


def questions(order_status: str, known: Iterable[KnownPayment]) -> Questions:
    """What to ask about an order in `order_status` with the payments `known`."""
    open_payments = tuple(p.payment_id for p in known if p.status in LIVE)
    settled = order_status in SETTLED
    return Questions(open_payments, list_invoice=not settled and not open_payments)


def is_news(document: Mapping[str, object], known: Mapping[str, KnownPayment]) -> bool:
    """Whether a payment status object NOWPayments answered tells us something: a payment
    we never heard of, or a status of it we have not seen."""
    payment_id, status = document.get("payment_id"), document.get("payment_status")
    if isinstance(payment_id, bool) or not isinstance(payment_id, str | int):
        return False
    if not isinstance(status, str):
        return False
    payment = known.get(str(payment_id))
    return payment is None or status not in payment.seen
