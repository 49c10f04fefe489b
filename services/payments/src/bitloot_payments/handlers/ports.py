"""What the payments use cases need of their storage: one port per repository, and
`PaymentsWork`, the unit of work that hands them out. `adapters.unit_of_work` holds the
real ones (PostgreSQL), `tests/fakes.py` the in-memory ones; both subclass these."""

import abc
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol
from uuid import UUID

from bitloot_payments.domain.availability import Availability
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
        """A new `created` order; False if another holds `idempotency`'s key."""

    @abc.abstractmethod
    async def by_key(self, key: str) -> Order | None:
        """The order placed with Idempotency-Key `key`, if any."""

    @abc.abstractmethod
    async def record_invoice(
        self, order_id: UUID, invoice_id: str, invoice_url: str, reconcile_in: timedelta
    ) -> None:
        """Status `invoiced`; NOWPayments is asked about it `reconcile_in` from now."""

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
        """The order's status and payment as the rules left them (`paid_at` set once)."""

    @abc.abstractmethod
    async def record_fulfilment(self, order_id: UUID, state: str, at: datetime) -> bool:
        """The saga reached `state` at `at`; False (ignored) if a later one is known."""

    @abc.abstractmethod
    async def record_fulfilled(self, order_id: UUID, at: datetime) -> bool | None:
        """`record_fulfilment` of ``fulfilled``, and whether the order has refunds (read
        under the order's lock, as every refund is recorded); None if not recorded."""

    @abc.abstractmethod
    async def record_key_email(self, order_id: UUID, sent: bool) -> bool:
        """Whether the key email went out (once confirmed, it stays); False if unknown."""

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
        """Whether another payment of the order may still bring money."""

    @abc.abstractmethod
    async def save(
        self, ipn: Notification, state: PaymentState, order: OrderState | None = None
    ) -> None:
        """What the payment became after `ipn` (with its amounts if it moved on), and
        `order`'s new state when given, in one round trip."""


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
        """Up to `limit` of the oldest due pending IPNs no one else holds, now locked."""

    @abc.abstractmethod
    async def mark_processed(self, processed: list[Processed]) -> None:
        """Each IPN's result, in one statement."""

    @abc.abstractmethod
    async def record_failure(
        self, ipn_id: int, error: str, defects: int, retry_in: float | None
    ) -> None:
        """An attempt failed: retry in `retry_in` seconds, or (None) give it up."""

    @abc.abstractmethod
    async def requeue(self, ipn_id: int, actor: str) -> LoggedIpn | None:
        """An IPN given up as ``error`` back in the queue; the IPN as it now stands."""

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
        """Record `refund` (no flag's) unless the order has one of its reason; its id."""

    @abc.abstractmethod
    async def load(self, refund_id: int, *, lock: bool = False) -> Refund | None:
        """The refund, or None; with `lock`, held until the transaction ends."""

    @abc.abstractmethod
    async def of_order(self, order_id: UUID, *, lock: bool = False) -> list[Refund]:
        """The order's refunds, oldest first; with `lock`, each held."""

    @abc.abstractmethod
    async def move(self, refund_id: int, status: str, **changes: object) -> Refund:
        """The refund in `status` with `changes`; the caller holds it, checked the move."""


class Availabilities(abc.ABC):
    """What Kinguin last had of each catalog product, as the gateway observed it."""

    @abc.abstractmethod
    async def record(self, availability: Availability) -> bool:
        """Store `availability` unless a later observation is stored; whether it was."""

    @abc.abstractmethod
    async def of(self, product_ids: Iterable[str]) -> dict[str, Availability]:
        """The known availability of those of `product_ids` ever observed."""


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

    @property
    def availability(self) -> Availabilities: ...

    async def rollback(self) -> None:
        """Undo everything since the last commit, its queued events included (callbacks
        registered with `on_commit` are kept). After a failure that broke the connection
        the unit of work cannot go on: leave it."""
