"""The per-order saga: what happens next for a paid order, whatever arrives when.

Events from other services reach fulfillment in any order and any number of times. The
saga therefore records facts (the Kinguin order, its latest status) as they arrive and
acts once the facts it needs are all there: keys are requested when the reservation
exists *and* Kinguin says the order is completed, in whichever order those two came.
Terminal states ignore everything after them.

Each method changes the saga and appends the events to publish to `pending`; the
handler writes those to the outbox in the same transaction as the saga.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from uuid import UUID

from bitloot_contracts.events import (
    Event,
    KeysRequested,
    KinguinOrderStatus,
    OrderFailed,
    OrderFulfilled,
    OrderState,
    OrderStatusChanged,
    PaymentFinished,
    ReservationLine,
    ReservationRequested,
)

TERMINAL: frozenset[OrderState] = frozenset({"fulfilled", "failed", "refunded"})
Stage = Literal["reservation", "kinguin", "delivery"]


@dataclass
class OrderSaga:
    """One order's progress from payment to delivered keys."""

    order_id: UUID
    customer_email: str
    state: OrderState = "paid"
    kinguin_order_id: str | None = None
    kinguin_status: KinguinOrderStatus | None = None
    kinguin_updated_at: datetime | None = None
    failure_stage: str | None = None
    failure_reason: str | None = None
    pending: list[Event] = field(default_factory=list, compare=False)

    @classmethod
    def start(cls, payment: PaymentFinished) -> "OrderSaga":
        """A paid order: ask the gateway to reserve its keys at Kinguin."""
        saga = cls(order_id=payment.order_id, customer_email=payment.customer_email)
        saga.pending.append(OrderStatusChanged(order_id=saga.order_id, status="paid"))
        lines = tuple(
            ReservationLine(
                kinguin_product_id=line.kinguin_product_id,
                qty=line.qty,
                max_unit_price=line.max_unit_price,
            )
            for line in payment.lines
        )
        saga.pending.append(ReservationRequested(order_id=saga.order_id, lines=lines))
        saga._move("reserving")
        return saga

    def reservation_created(self, kinguin_order_id: str, status: KinguinOrderStatus) -> None:
        """The gateway placed the Kinguin order."""
        if self.state != "reserving":
            return
        self.kinguin_order_id = kinguin_order_id
        self.kinguin_status = self.kinguin_status or status
        self._move("reserved")
        self._act_on_kinguin_status()

    def kinguin_status_changed(
        self, kinguin_order_id: str, status: KinguinOrderStatus, updated_at: datetime
    ) -> None:
        """Kinguin reported a status; an older report than one we know changes nothing."""
        if self.kinguin_updated_at is not None and updated_at <= self.kinguin_updated_at:
            return
        self.kinguin_order_id = self.kinguin_order_id or kinguin_order_id
        self.kinguin_status, self.kinguin_updated_at = status, updated_at
        if self.state == "reserved":
            self._act_on_kinguin_status()
        elif self.state == "reserving" and status in ("canceled", "refunded"):
            self.fail("kinguin", f"Kinguin order {status} before it was confirmed")

    def reservation_failed(self, code: str, reason: str) -> None:
        self.fail("reservation", f"{code}: {reason}")

    def delivery_completed(self, key_count: int) -> None:
        """Delivery stored the keys and mailed the link: the order is done."""
        if self.state != "keys_requested":
            return
        self._move("fulfilled")
        self.pending.append(OrderFulfilled(order_id=self.order_id, key_count=key_count))

    def delivery_failed(self, code: str, reason: str) -> None:
        self.fail("delivery", f"{code}: {reason}")

    def fail(self, stage: Stage, reason: str) -> None:
        """End the order as failed, with what an admin needs to act on it."""
        if self.state in TERMINAL:
            return
        self.failure_stage, self.failure_reason = stage, reason
        self._move("failed", reason)
        self.pending.append(OrderFailed(order_id=self.order_id, stage=stage, reason=reason))

    def _act_on_kinguin_status(self) -> None:
        if self.kinguin_status == "completed" and self.kinguin_order_id is not None:
            self.pending.append(
                KeysRequested(
                    order_id=self.order_id,
                    kinguin_order_id=self.kinguin_order_id,
                    customer_email=self.customer_email,
                )
            )
            self._move("keys_requested")
        elif self.kinguin_status in ("canceled", "refunded"):
            self.fail("kinguin", f"Kinguin order {self.kinguin_status}")

    def _move(self, state: OrderState, reason: str | None = None) -> None:
        previous, self.state = self.state, state
        self.pending.append(
            OrderStatusChanged(
                order_id=self.order_id, status=state, previous_status=previous, reason=reason
            )
        )
