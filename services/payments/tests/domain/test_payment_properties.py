"""Whatever order NOWPayments delivers a payment's IPNs in, and however often it repeats
them, the order ends in the same state with exactly one payment.finished."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from bitloot_payments.domain.payment import Notification, OrderState, PaymentState, apply

ORDER = OrderState(UUID(int=42), Decimal("12.5"), "usd", "invoiced")
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
PAID = Notification(
    "7", "waiting", ORDER.order_id, Decimal("12.5"), "usd", Decimal("12.51"), created_at=T0
)
# Payment 7 pays the order; payment 8 was opened on the same invoice and expired (while 7
# was open: the buyer changed coins), so its expiry never makes 7 a late payment.
OTHER = replace(PAID, payment_id="8", created_at=T0 - timedelta(minutes=5))
SEQUENCE = (
    *(replace(PAID, status=s) for s in ("waiting", "confirming", "confirmed", "sending")),
    replace(PAID, status="finished", actually_paid=Decimal("12.51")),
    replace(OTHER, status="waiting"),
    replace(OTHER, status="expired", updated_at=T0 + timedelta(minutes=20)),
)


def run(ipns: list[Notification]) -> tuple[OrderState, dict[str, PaymentState], int]:
    """The order, its payments and how many payment.finished, after `ipns` in turn."""
    order, payments, finished = ORDER, dict[str, PaymentState](), 0
    for ipn in ipns:
        outcome = apply(order, payments.get(ipn.payment_id, PaymentState()), ipn)
        order, payments[ipn.payment_id] = outcome.order, outcome.payment
        finished += outcome.finished
    return order, payments, finished


IN_ORDER = run(list(SEQUENCE))


def test_the_sequence_in_order_pays_the_order_once() -> None:
    order, payments, finished = IN_ORDER
    assert (order.status, order.payment_id, order.payment_status) == ("paid", "7", "finished")
    assert (payments["7"].status, payments["8"].status, finished) == ("finished", "expired", 1)


@given(
    st.permutations(SEQUENCE)
    .flatmap(
        lambda ipns: st.lists(st.sampled_from(ipns), max_size=10).map(lambda extra: [*ipns, *extra])
    )
    .flatmap(st.permutations)
)
def test_any_permutation_with_duplicates_ends_in_the_same_state(
    ipns: list[Notification],
) -> None:
    order, payments, finished = run(ipns)
    assert order == IN_ORDER[0]
    assert {k: p.status for k, p in payments.items()} == {"7": "finished", "8": "expired"}
    assert finished == 1
