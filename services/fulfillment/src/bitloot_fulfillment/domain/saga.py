"""The per-order saga: what happens next for a paid order, whatever arrives when.

Events from other services reach fulfillment in any order and any number of times. The
saga therefore records facts (the Kinguin order, its latest status, that the keys left
the gateway, what delivery reported) as they arrive, and `_advance` then takes every
step those facts allow, in the one fixed order of the happy path:

    paid → reserving → reserved → keys_requested → delivering → fulfilled

So a completed Kinguin webhook that overtakes `reservation.created`, or a
`delivery.completed` that overtakes `keys.delivered`, leads to the same states and the
same commands as the in-order sequence. Terminal states ignore everything after them,
except that Kinguin refunding an order whose keys already left becomes `refunded`, for
an admin to look at (nothing automatic: the customer may have revealed the keys), and
that a failed order Kinguin completes late is revived, unless the customer's refund is
already approved or paid (see `refund_blocks_revival`).

The saga also records what the customer status of the order needs besides its state:
the latest status of the order's refund that payments reported (`refund.status_changed`)
and whether delivery confirmed the key email. Neither moves the saga.

Each method changes the saga and appends the events to publish to `pending`, its
transitions to `transitions` and the timers to set to `timers`; the handler stores them
in the same transaction as the saga. Every transition goes into the order's timeline;
only those a consumer acts on are also published as `order.status_changed`
(`announced`): on the happy path paid, reserving and fulfilled, not the three steps in
between, which change nothing the customer is told.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from bitloot_contracts.customer import (
    CustomerStatus,
    customer_status_of_order,
    customer_status_of_saga,
)
from bitloot_contracts.events import (
    Event,
    KeysDelivered,
    KeysRequested,
    KinguinOrderStatus,
    OrderDelayed,
    OrderFailed,
    OrderFulfilled,
    OrderState,
    OrderStatusChanged,
    PaymentFinished,
    RefundStatus,
    RefundStatusChanged,
    ReservationLine,
    ReservationPoll,
    ReservationRequested,
    SealedKeys,
)
from bitloot_fulfillment.domain.timers import POLL, TimerPolicy, TimerSet

TERMINAL: frozenset[OrderState] = frozenset({"fulfilled", "failed", "refunded"})
# Until the keys leave the gateway the order can still fail on Kinguin's side, and the
# saga is waiting on something that may never come: the deadline applies.
BEFORE_DELIVERY: frozenset[OrderState] = frozenset(
    {"paid", "reserving", "reserved", "keys_requested"}
)
# Waiting for Kinguin to complete the order: the state in which polls are useful.
AWAITING_KINGUIN: frozenset[OrderState] = frozenset({"reserving", "reserved"})
Stage = Literal["reservation", "kinguin", "delivery", "deadline"]
_GONE: frozenset[KinguinOrderStatus] = frozenset({"canceled", "refunded"})
# The customer's money is on its way back, or back: keys bought late must not go out too.
_REFUND_PAID: dict[RefundStatus, str] = {
    "approved": "approved",
    "sending": "being paid",
    "sent": "paid",
    "refunded_outside": "paid outside BitLoot",
}


def announced(previous: OrderState | None, state: OrderState) -> bool:
    """Whether the transition from `previous` to `state` is published as
    `order.status_changed`: when it changes what the customer is told of the order
    (`customer_status_of_saga`), or ends it. Nothing else is acted on by the topic's
    consumers: payments keeps the state for the order page's customer status and cancels
    a failed order's refund on `fulfilled`; the live page shows the customer status.
    So the steps within "delivering" (reserving → reserved → keys_requested →
    delivering) and a note on an unchanged state (a delay told to the customer) stay in
    the saga's timeline only."""
    return state in TERMINAL or customer_status_of_saga(previous) != customer_status_of_saga(state)


def refund_blocks_revival(refund: RefundStatus | None) -> bool:
    """Whether a failed order Kinguin completes late must stay failed because of its
    refund. A refund only due or claimed does not: the keys go out, and payments cancels
    the refund when it hears `fulfilled`. One approved, being paid or paid does: the
    customer would get the keys and the money, so an admin decides instead."""
    return refund in _REFUND_PAID


class Refused(Exception):
    """An admin's action the saga refuses; `code` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class ManualDeliveryRefused(Refused):
    """Keys entered by an admin must not be delivered to this order."""


# What a keys.delivered of keys entered by an admin names as the Kinguin order when
# Kinguin never sold the order (delivery records it; nobody asks Kinguin about it).
NO_KINGUIN_ORDER = "none:delivered-by-hand"


class RetryRefused(Refused):
    """Retrying this order could buy it twice or makes no sense."""


@dataclass
class OrderSaga:
    """One order's progress from payment to delivered keys."""

    order_id: UUID
    customer_email: str
    state: OrderState = "paid"
    kinguin_order_id: str | None = None
    reservation_confirmed: bool = False
    kinguin_status: KinguinOrderStatus | None = None
    kinguin_updated_at: datetime | None = None
    keys_left_gateway: bool = False
    delivered_key_count: int | None = None
    delivery_error: str | None = None
    failure_stage: str | None = None
    failure_reason: str | None = None
    polls_sent: int = 0
    lines: tuple[ReservationLine, ...] = ()
    # Kinguin delivers a preorder's keys on its release date (when it gives one).
    is_preorder: bool = False
    preorder_release_date: date | None = None
    # The customer was told once that Kinguin is late with the bought order.
    delay_notified: bool = False
    # The admin who entered the order's keys by hand, if one did (at most once).
    delivered_by_hand_by: str | None = None
    # The order's refund as payments last reported it (events overtake each other, so
    # `refund_at`, the report's time, keeps an older report from undoing a newer one).
    refund_id: int | None = None
    refund_status: RefundStatus | None = None
    refund_at: datetime | None = None
    refund_amount: Decimal | None = None
    refund_currency: str | None = None
    refund_transaction_id: str | None = None
    # Whether delivery confirmed the key email (None until delivery.completed).
    email_sent: bool | None = None
    pending: list[Event] = field(default_factory=list, compare=False)
    # Every transition of this step, for the timeline; the `announced` ones are in
    # `pending` too (the same event).
    transitions: list[OrderStatusChanged] = field(default_factory=list, compare=False)
    timers: TimerSet = field(default_factory=TimerSet, compare=False)

    @classmethod
    def start(cls, payment: PaymentFinished, policy: TimerPolicy) -> "OrderSaga":
        """A paid order: ask the gateway to reserve its keys at Kinguin, and set the
        first poll and the deadline."""
        saga = cls(
            order_id=payment.order_id,
            customer_email=payment.customer_email,
            lines=_lines(payment),
        )
        saga._record(None, "paid")
        saga._request_reservation(policy)
        return saga

    def reservation_created(
        self,
        kinguin_order_id: str,
        status: KinguinOrderStatus,
        *,
        is_preorder: bool = False,
        release_date: date | None = None,
    ) -> None:
        """The gateway placed the Kinguin order. Recorded even after the order ended, so
        that an admin retry knows the order is bought and never asks for it again."""
        self.kinguin_order_id = self.kinguin_order_id or kinguin_order_id
        self.reservation_confirmed = True
        self.kinguin_status = self.kinguin_status or status
        self.is_preorder = self.is_preorder or is_preorder
        self.preorder_release_date = self.preorder_release_date or release_date
        self._revive_if_completed()
        self._advance()

    def kinguin_status_changed(
        self, kinguin_order_id: str, status: KinguinOrderStatus, updated_at: datetime
    ) -> None:
        """Kinguin reported a status; an older report than one we know changes nothing,
        and neither does news of a Kinguin order a retry replaced."""
        if self.kinguin_updated_at is not None and updated_at <= self.kinguin_updated_at:
            return
        if self.kinguin_order_id is not None and kinguin_order_id != self.kinguin_order_id:
            return
        self.kinguin_order_id = self.kinguin_order_id or kinguin_order_id
        self.kinguin_status, self.kinguin_updated_at = status, updated_at
        if status in _GONE and (self.keys_left_gateway or self.state == "fulfilled"):
            self._refunded_after_delivery(status)
            return
        self._revive_if_completed()
        self._advance()

    def reservation_failed(self, code: str, reason: str) -> None:
        self.fail("reservation", f"{code}: {reason}")

    def keys_delivered(self) -> None:
        """The gateway handed the sealed keys to delivery (fulfillment never opens them)."""
        self.keys_left_gateway = True
        self._advance()

    def delivery_completed(self, key_count: int, *, email_sent: bool = True) -> None:
        """Delivery stored the keys and mailed the link (which implies the keys left), or
        gave up on confirming the email (`email_sent` false: the customer may not have
        it). A confirmed email stays confirmed whatever report comes after it."""
        self.keys_left_gateway = True
        self.delivered_key_count = self.delivered_key_count or key_count
        self.email_sent = email_sent or bool(self.email_sent)
        self._advance()

    def refund_status_changed(self, change: RefundStatusChanged) -> None:
        """Payments recorded or moved the order's refund: remembered for the customer
        status and the revival guard, never a transition. A report no newer than the one
        recorded (a duplicate, or one overtaken on the bus) changes nothing."""
        if self.refund_at is not None and change.occurred_at <= self.refund_at:
            return
        self.refund_id, self.refund_status = change.refund_id, change.status
        self.refund_at = change.occurred_at
        self.refund_amount, self.refund_currency = change.amount, change.currency
        self.refund_transaction_id = change.transaction_id

    @property
    def email_confirmed(self) -> bool:
        """False only once delivery said the key email may not have reached the customer."""
        return self.email_sent is not False

    @property
    def customer_status(self) -> CustomerStatus | None:
        """The order's status in the customer's words, as every other place shows it."""
        return customer_status_of_order(
            self.state, self.refund_status, email_confirmed=self.email_confirmed
        )

    def delivery_failed(self, code: str, reason: str) -> None:
        """Delivery gave up after its own retries; acted on once keys were requested."""
        self.delivery_error = self.delivery_error or f"{code}: {reason}"
        self._advance()

    def timer_fired(self, kind: str, attempt: int, policy: TimerPolicy) -> None:
        """A stored timer came due: poll the gateway again, or give up on the order."""
        if kind == POLL:
            # A timer is deleted when it fires, but an attempt already sent must never be
            # sent twice, whatever a restored backup or a replay brings back.
            if self.state in AWAITING_KINGUIN and attempt > self.polls_sent:
                self.polls_sent = attempt
                self.pending.append(
                    ReservationPoll(
                        order_id=self.order_id,
                        kinguin_order_id=self.kinguin_order_id,
                        attempt=attempt,
                    )
                )
                self.timers.schedule_poll(policy, attempt=attempt + 1)
        elif self._bought_and_waiting():
            # A preorder or a slow order: bought, and Kinguin is still working on it.
            # Failing it would leave the customer's money with nobody owing them keys;
            # the polls go on (capped) and the customer hears once why it takes long.
            self._tell_customer_delayed()
        elif self.state in BEFORE_DELIVERY:
            self.fail("deadline", f"no completion within {policy.max_age} (state {self.state})")

    def retry(self, policy: TimerPolicy, *, stuck: bool = False) -> None:
        """An admin retries a failed order, or a `stuck` one (not ended, past its
        deadline), only in ways that cannot buy twice: a bought order fetches its keys
        again or waits for Kinguin again; an order with no live Kinguin order (refused,
        never answered, or canceled by Kinguin) asks the gateway again, which looks every
        external id of the order up at Kinguin before it buys under a new one. Never once
        the customer's refund is approved or paid (`refund_blocks_revival`), like a late
        completion."""
        if self.state in TERMINAL and self.state != "failed":
            raise RetryRefused("not_failed", f"The order is {self.state}; nothing to retry.")
        if self.state != "failed" and not stuck:
            raise RetryRefused(
                "not_stuck",
                f"The order is {self.state} and still within its deadline; wait or let it fail.",
            )
        if refund_blocks_revival(self.refund_status):
            raise RetryRefused(
                "refund_paid",
                f"The customer's refund is {self.refund_status}; buying or sending keys now "
                "would give them both. Resolve the refund with payments first.",
            )
        if self.kinguin_status in _GONE and self.keys_left_gateway:
            raise RetryRefused(
                "kinguin_order_gone",
                f"Kinguin {self.kinguin_status} the order after its keys left the gateway; "
                "buying again needs a person to decide.",
            )
        if self.state == "failed":
            reason = f"admin retry after {self.failure_stage} failure"
        else:
            reason = f"admin retry of an order stuck in {self.state}"
        self.failure_stage = self.failure_reason = self.delivery_error = None
        if self.kinguin_status in _GONE:
            # Kinguin canceled it before delivery: the gateway buys a replacement.
            self.kinguin_order_id, self.kinguin_status, self.kinguin_updated_at = None, None, None
            self.reservation_confirmed, self.is_preorder = False, False
            self.preorder_release_date = None
        if not self.reservation_confirmed:
            self._move("paid", reason)
            self._request_reservation(policy)
            return
        self.keys_left_gateway, self.delivered_key_count = False, None
        self._move("reserved", reason)
        self.timers.schedule_deadline(policy)
        if self.kinguin_status != "completed":
            self.timers.schedule_poll(policy, attempt=self.polls_sent + 1)
        self._advance()

    def fail(self, stage: Stage, reason: str) -> None:
        """End the order as failed, with what an admin needs to act on it."""
        if self.state in TERMINAL:
            return
        self.failure_stage, self.failure_reason = stage, reason
        self._move("failed", reason)
        self.pending.append(OrderFailed(order_id=self.order_id, stage=stage, reason=reason))
        self.timers.cancel_all()

    def _advance(self) -> None:
        """Take every step the recorded facts allow, in the happy path's order."""
        if self.state in TERMINAL:
            return
        if self.kinguin_status in _GONE and not self.keys_left_gateway:
            self.fail("kinguin", f"Kinguin order {self.kinguin_status} before delivery")
            return
        if self.state == "reserving" and self.reservation_confirmed:
            self._move("reserved")
        if self.state == "reserved" and self.kinguin_status == "completed":
            self._request_keys()
        if self.state == "keys_requested" and self.keys_left_gateway:
            self._move("delivering")
        if self.state in ("keys_requested", "delivering"):
            self._act_on_delivery()

    def _bought_and_waiting(self) -> bool:
        return (
            self.state in AWAITING_KINGUIN
            and self.reservation_confirmed
            and self.kinguin_status == "processing"
        )

    def _revive_if_completed(self) -> None:
        """The order failed before its keys were asked for (the deadline, a lost answer)
        but Kinguin completed it after all: the customer paid, so the keys go out after
        all, unless the refund payments reported is approved or paid
        (`refund_blocks_revival`). Then the order stays failed, with a reason that tells
        an admin why (no order.status_changed: its state does not change)."""
        if not (
            self.state == "failed"
            and self.failure_stage in ("deadline", "reservation")
            and self.kinguin_status == "completed"
            and self.kinguin_order_id is not None
            and not self.keys_left_gateway
            and self.delivery_error is None
        ):
            return
        if refund_blocks_revival(self.refund_status):
            assert self.refund_status is not None  # a refund blocks, none does not
            self.failure_reason = (
                f"Kinguin completed the order after the refund was "
                f"{_REFUND_PAID[self.refund_status]}; keys not delivered"
            )
            return
        stage = self.failure_stage
        self.reservation_confirmed = True
        self.failure_stage = self.failure_reason = None
        self._move("reserved", f"Kinguin completed the order after its {stage} failure")

    def _tell_customer_delayed(self) -> None:
        if self.delay_notified:
            return
        self.delay_notified = True
        what = "a preorder" if self.is_preorder else "still processing at Kinguin"
        if self.preorder_release_date is not None:
            what += f", released on {self.preorder_release_date.isoformat()}"
        self._move(self.state, f"past the deadline, {what}: waiting on; customer told")
        self.pending.append(
            OrderDelayed(
                order_id=self.order_id,
                customer_email=self.customer_email,
                is_preorder=self.is_preorder,
                release_date=self.preorder_release_date,
            )
        )

    def _request_reservation(self, policy: TimerPolicy) -> None:
        self.pending.append(ReservationRequested(order_id=self.order_id, lines=self.lines))
        self._move("reserving")
        self.timers.schedule_poll(policy, attempt=self.polls_sent + 1)
        self.timers.schedule_deadline(policy)

    def _request_keys(self) -> None:
        assert self.kinguin_order_id is not None  # set with reservation_confirmed
        self.pending.append(
            KeysRequested(
                order_id=self.order_id,
                kinguin_order_id=self.kinguin_order_id,
                customer_email=self.customer_email,
            )
        )
        self._move("keys_requested")
        self.timers.cancel_poll()

    def _act_on_delivery(self) -> None:
        if self.delivered_key_count is not None and self.state == "delivering":
            self._move("fulfilled")
            self.pending.append(
                OrderFulfilled(order_id=self.order_id, key_count=self.delivered_key_count)
            )
            self.timers.cancel_all()
        elif self.delivery_error is not None:
            self.fail("delivery", self.delivery_error)

    def _refunded_after_delivery(self, status: KinguinOrderStatus) -> None:
        if self.state in ("failed", "refunded"):
            return
        self._move("refunded", f"Kinguin order {status} after its keys were delivered")
        self.timers.cancel_all()

    def _move(self, state: OrderState, reason: str | None = None) -> None:
        previous, self.state = self.state, state
        self._record(previous, state, reason)

    def _record(
        self, previous: OrderState | None, state: OrderState, reason: str | None = None
    ) -> None:
        """A transition for the timeline, also published if its consumers act on it
        (`announced`); its `previous_status` is the saga's state just before it."""
        change = OrderStatusChanged(
            order_id=self.order_id, status=state, previous_status=previous, reason=reason
        )
        self.transitions.append(change)
        if announced(previous, state):
            self.pending.append(change)

    def delivered_by_hand(
        self, actor: str, key_count: int, sealed: SealedKeys, *, stuck: bool
    ) -> None:
        """An admin entered the order's keys, sealed to delivery before they left the
        admin: hand them to delivery as the gateway would, once, for a failed order or
        one `stuck` past its deadline. Never once keys reached delivery, which keeps the
        first keys it gets for an order (the customer would not get these), and never for
        a refunded order or one whose refund is approved or paid. The order then ends as
        any other: delivery.completed → fulfilled.
        """
        refusal = self._manual_delivery_refusal(key_count, stuck=stuck)
        if refusal is not None:
            raise ManualDeliveryRefused(*refusal)
        self.delivered_by_hand_by = actor
        # The keys are with delivery now: a Kinguin order that ends later no longer fails
        # the order, and the saga waits for delivery's verdict like after the gateway.
        self.keys_left_gateway = True
        self.failure_stage = self.failure_reason = None
        self._move("delivering", f"keys delivered by hand by {actor}")
        self.pending.append(
            KeysDelivered(
                order_id=self.order_id,
                kinguin_order_id=self.kinguin_order_id or NO_KINGUIN_ORDER,
                customer_email=self.customer_email,
                key_count=key_count,
                sealed=sealed,
            )
        )
        self.timers.cancel_all()

    def _manual_delivery_refusal(self, key_count: int, *, stuck: bool) -> tuple[str, str] | None:
        if self.delivered_by_hand_by is not None:
            return "already_delivered_by_hand", f"{self.delivered_by_hand_by} already did."
        if self.state == "refunded":
            return "order_refunded", "Kinguin refunded the order after its keys were delivered."
        if refund_blocks_revival(self.refund_status):
            return "refund_paid", f"The customer's refund is {self.refund_status}."
        if self.keys_left_gateway or self.delivered_key_count is not None or self.delivery_error:
            return (
                "keys_already_with_delivery",
                f"Delivery already has keys for this order (state {self.state}); "
                "resend its email instead.",
            )
        if self.state != "failed" and not (stuck and self.state in BEFORE_DELIVERY):
            return "not_failed_or_stuck", f"The order is {self.state}, not failed or stuck."
        expected = sum(line.qty for line in self.lines)
        if key_count != expected:
            return "key_count_mismatch", f"The order has {expected} keys, not {key_count}."
        return None


def _lines(payment: PaymentFinished) -> tuple[ReservationLine, ...]:
    return tuple(
        ReservationLine(
            kinguin_product_id=line.kinguin_product_id,
            qty=line.qty,
            max_unit_price=line.max_unit_price,
        )
        for line in payment.lines
    )
