"""What the payments use cases need of their storage: one port per repository, and
`PaymentsWork`, the unit of work that hands them out. `adapters.unit_of_work` holds the
real ones (PostgreSQL), `tests/fakes.py` the in-memory ones; both subclass these."""

import abc
from datetime import datetime, timedelta
from decimal import Decimal
from types import TracebackType
from typing import Protocol, Self
from uuid import UUID

from bitloot_payments.domain.order import PricedLine
from bitloot_payments.domain.payment import Notification, OrderState, PaymentState
from bitloot_payments.domain.records import (
    Flag,
    IpnEntry,
    Line,
    LoggedIpn,
    Order,
    PaymentRecord,
    Processed,
    Refund,
)
from bitloot_runtime.db import Work


class Orders(abc.ABC):
    """Orders and their lines."""

    @abc.abstractmethod
    async def insert(
        self,
        order_id: UUID,
        email: str,
        lines: list[PricedLine],
        total: Decimal,
        currency: str,
        idempotency: tuple[str, str] | None = None,
    ) -> bool:
        """A new order in status `created`, with its lines; False (nothing stored) if
        `idempotency` (key, request hash) names a key another order already holds."""

    @abc.abstractmethod
    async def by_key(self, key: str) -> Order | None:
        """The order placed with Idempotency-Key `key`, if any."""

    @abc.abstractmethod
    async def record_invoice(
        self, order_id: UUID, invoice_id: str, invoice_url: str, reconcile_in: timedelta
    ) -> None:
        """The order's invoice exists: status `invoiced`; NOWPayments is first asked about
        it `reconcile_in` from now unless it is settled by then."""

    @abc.abstractmethod
    async def load(self, order_id: UUID, *, lock: bool = False) -> Order | None:
        """The order, or None; with `lock`, held FOR UPDATE until the transaction ends."""

    @abc.abstractmethod
    async def lock(self, order_id: UUID) -> Order | None:
        """`load(lock=True)` as the IPN processor's hot path runs it."""

    @abc.abstractmethod
    async def lines(self, order_id: UUID) -> list[Line]:
        """The order's lines, by SKU, with the catalog's title and platform now."""

    @abc.abstractmethod
    async def save_state(self, state: OrderState) -> None:
        """Store the order's status and payment as the payment rules left them; `paid_at`
        is set the first time it becomes paid."""

    @abc.abstractmethod
    async def record_fulfilment(self, order_id: UUID, state: str, at: datetime) -> bool:
        """The saga reached `state` at `at`; ignored if a later state is already known
        (events arrive in any order). Whether it was recorded."""

    @abc.abstractmethod
    async def record_fulfilled(self, order_id: UUID, at: datetime) -> bool | None:
        """`record_fulfilment` of ``fulfilled``, and whether the order has any refund: None
        if the state was not recorded (a later one is known, or the order is not). The
        answer is read under the order's lock, under which every refund is recorded."""

    @abc.abstractmethod
    async def record_key_email(self, order_id: UUID, sent: bool) -> bool:
        """Delivery said whether the key email went out; once confirmed it stays
        confirmed. Whether the order is known."""

    @abc.abstractmethod
    async def set_status(self, order_id: UUID, status: str) -> None:
        """The order's own status (refund_due, refunded, back to paid), nothing else."""


class Payments(abc.ABC):
    """NOWPayments payments as this service knows them, one per payment id."""

    @abc.abstractmethod
    async def load(self, payment_id: str) -> PaymentRecord | None:
        """The payment, locked until the transaction ends (its order is locked first)."""

    @abc.abstractmethod
    async def lock(self, payment_id: str) -> PaymentRecord | None:
        """`load` as the IPN processor's hot path runs it."""

    @abc.abstractmethod
    async def order_of(self, payment_id: str) -> UUID | None:
        """The order a known payment belongs to."""

    @abc.abstractmethod
    async def others_live(self, order_id: UUID, payment_id: str) -> bool:
        """Whether another payment of the order may still bring money (not finished,
        failed, expired or refunded)."""

    @abc.abstractmethod
    async def save(
        self, ipn: Notification, state: PaymentState, order: OrderState | None = None
    ) -> None:
        """Store what the payment became after `ipn` (its amounts only when it moved on),
        and the order's new `state` with it when given (in one round trip)."""


class Flags(abc.ABC):
    """What the payment rules could not settle alone, for an admin."""

    @abc.abstractmethod
    async def add(self, flag: Flag) -> None:
        """Raise `flag` (open)."""

    @abc.abstractmethod
    async def load(self, flag_id: int, *, lock: bool = False) -> Flag | None:
        """The flag, or None; with `lock`, held until the transaction ends."""

    @abc.abstractmethod
    async def resolve(self, flag_id: int, status: str, actor: str, note: str | None) -> None:
        """An admin resolved the flag as `status`."""

    @abc.abstractmethod
    async def resolve_of_ipn(self, ipn_id: int, kind: str, status: str, actor: str) -> None:
        """Resolve the open flags of `kind` raised for one IPN."""

    @abc.abstractmethod
    async def of_order(self, order_id: UUID, kind: str) -> list[Flag]:
        """The order's flags of `kind`, newest first (up to a hundred)."""


class IpnLog(abc.ABC):
    """Every IPN received (and payment status polled), with what was made of it."""

    @abc.abstractmethod
    async def add(self, entry: IpnEntry) -> int:
        """Store `entry`; a result of ``pending`` leaves it for the processor. Its id."""

    @abc.abstractmethod
    async def claim_due(self, limit: int) -> list[LoggedIpn]:
        """Up to `limit` of the oldest pending IPNs that are due and that no other
        transaction holds, oldest first, locked until this one ends."""

    @abc.abstractmethod
    async def mark_processed(self, processed: list[Processed]) -> None:
        """Each IPN's result, in one statement."""

    @abc.abstractmethod
    async def record_failure(
        self, ipn_id: int, error: str, defects: int, retry_in: float | None
    ) -> None:
        """An attempt failed with `error`: the IPN stays pending until `retry_in` seconds
        from now, or (`retry_in` None) it is given up as ``error``."""

    @abc.abstractmethod
    async def requeue(self, ipn_id: int, actor: str) -> LoggedIpn | None:
        """Put an IPN given up as ``error`` back in the queue, for `actor`; the IPN as it
        now stands (None if there is none). Any other IPN is left as it is."""

    @abc.abstractmethod
    async def load(self, ipn_id: int, *, lock: bool = False) -> LoggedIpn | None:
        """The IPN, or None; with `lock`, held until the transaction ends."""


class Refunds(abc.ABC):
    """Money owed back to customers, and where each refund stands."""

    @abc.abstractmethod
    async def add(self, refund: Refund) -> int:
        """Record the refund an admin decided on a flag; its id."""

    @abc.abstractmethod
    async def add_whole_order(self, refund: Refund) -> int | None:
        """Record `refund` (one that names no flag) unless the order already has one for
        the same reason; its id, or None if it had."""

    @abc.abstractmethod
    async def load(self, refund_id: int, *, lock: bool = False) -> Refund | None:
        """The refund, or None; with `lock`, held until the transaction ends."""

    @abc.abstractmethod
    async def of_order(self, order_id: UUID, *, lock: bool = False) -> list[Refund]:
        """The order's refunds, oldest first; with `lock`, each held."""

    @abc.abstractmethod
    async def move(self, refund_id: int, status: str, **changes: object) -> Refund:
        """The refund in `status` with `changes` (claimed_at, decided_by…) stored; the
        caller holds its row and checked the move (`domain.refunds`)."""


class PaymentsWork(Work, Protocol):
    """A payments unit of work: one transaction, and the repositories working in it."""

    @property
    def orders(self) -> Orders: ...

    @property
    def payments(self) -> Payments: ...

    @property
    def flags(self) -> Flags: ...

    @property
    def ipns(self) -> IpnLog: ...

    @property
    def refunds(self) -> Refunds: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def rollback(self) -> None:
        """Undo everything since the last commit, and go on in a new transaction."""
