"""Property: whatever order the saga's events arrive in, however often each arrives, the
saga ends where the in-order sequence ends, and sends each command as often as it does.

Events are delivered as the consumer delivers them: one reaching fulfillment before the
`payment.finished` that starts the saga is retried later (the handler raises
`SagaNotStarted`), and a repeated `payment.finished` starts nothing new.
"""

from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from fulfillment_sagas import POLICY, T0, consumers_are_told_what_they_act_on, payment_finished
from hypothesis import given, settings
from hypothesis import strategies as st

from bitloot_contracts.events import OrderStatusChanged, PaymentFinished, ReservationPoll
from bitloot_fulfillment.domain.saga import OrderSaga

Step = Callable[[OrderSaga], None]
START = "payment.finished"


COMMON: dict[str, Step] = {
    "reservation.created": lambda s: s.reservation_created("K-1", "processing"),
    "webhook processing": lambda s: s.kinguin_status_changed("K-1", "processing", T0),
}
SCENARIOS: dict[str, dict[str, Step]] = {
    "fulfilled": {
        **COMMON,
        "webhook completed": lambda s: s.kinguin_status_changed(
            "K-1", "completed", T0 + timedelta(seconds=5)
        ),
        "keys.delivered": lambda s: s.keys_delivered(),
        "delivery.completed": lambda s: s.delivery_completed(2),
    },
    "reservation failed": {
        "reservation.failed": lambda s: s.reservation_failed("out_of_stock", "none left"),
    },
    "kinguin canceled": {
        **COMMON,
        "webhook canceled": lambda s: s.kinguin_status_changed(
            "K-1", "canceled", T0 + timedelta(seconds=5)
        ),
    },
    "delivery failed": {
        **COMMON,
        "webhook completed": lambda s: s.kinguin_status_changed(
            "K-1", "completed", T0 + timedelta(seconds=5)
        ),
        "keys.delivered": lambda s: s.keys_delivered(),
        "delivery.failed": lambda s: s.delivery_failed("s3_down", "store refused"),
    },
}
COUNTED = (
    "ReservationRequested",
    "KeysRequested",
    "ReservationPoll",
    "OrderFulfilled",
    "OrderFailed",
)


def deliver(payment: PaymentFinished, steps: dict[str, Step], arrivals: list[str]) -> OrderSaga:
    """Feed `arrivals` to a saga as the consumer would, retrying what came too early."""
    saga: OrderSaga | None = None
    queue = list(arrivals)
    while queue:
        name = queue.pop(0)
        if name == START:
            saga = saga or OrderSaga.start(payment, POLICY)
        elif saga is None:
            queue.append(name)  # SagaNotStarted: redelivered after a delay
        else:
            steps[name](saga)
    assert saga is not None
    return saga


def outcome(saga: OrderSaga) -> tuple[str, str | None, Counter[str]]:
    sent = Counter(type(e).__name__ for e in saga.pending if not isinstance(e, OrderStatusChanged))
    return saga.state, saga.failure_stage, sent


@st.composite
def arrivals(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A scenario, and its events (the payment included) shuffled with some repeated."""
    scenario = draw(st.sampled_from(sorted(SCENARIOS)))
    names = [START, *SCENARIOS[scenario]]
    repeats = draw(st.lists(st.sampled_from(names), max_size=len(names)))
    return scenario, draw(st.permutations(names + repeats))


@settings(max_examples=400, deadline=None)
@given(arrivals())
def test_any_order_and_any_duplicates_end_where_the_in_order_sequence_ends(
    case: tuple[str, list[str]],
) -> None:
    scenario, shuffled = case
    steps = SCENARIOS[scenario]
    payment = payment_finished()
    expected = outcome(deliver(payment, steps, [START, *steps]))
    actual = outcome(deliver(payment, steps, shuffled))
    assert actual == expected
    assert all(actual[2][command] <= 1 for command in COUNTED)


@settings(max_examples=200, deadline=None)
@given(arrivals())
def test_any_order_and_any_duplicates_announce_what_the_consumers_act_on(
    case: tuple[str, list[str]],
) -> None:
    scenario, shuffled = case
    consumers_are_told_what_they_act_on(deliver(payment_finished(), SCENARIOS[scenario], shuffled))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=20))
def test_each_poll_attempt_is_sent_at_most_once_however_often_its_timer_fires(
    firings: list[int],
) -> None:
    saga = OrderSaga.start(payment_finished(), POLICY)
    for attempt in sorted(firings):  # a stored timer comes due in attempt order
        saga.timer_fired("poll", attempt, POLICY)
    polls = [e.attempt for e in saga.pending if isinstance(e, ReservationPoll)]
    assert polls == sorted(set(firings))
