"""What the payments use cases need of their storage: one port per repository, and
`PaymentsWork`, the unit of work that hands them out. `adapters.unit_of_work` holds the
real ones (PostgreSQL), `tests/payments_fakes.py` the in-memory ones; both subclass these."""

import abc
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol
from uuid import UUID

from bitloot_payments.domain.availability import Availability
from bitloot_payments.domain.order import PricedLine
from bitloot_payments.domain.payment import Notification, OrderState, PaymentState
from bitloot_payments.domain.reconcile import KnownPayment
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
from bitloot_runtime.rate_limits import Limit


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


@dataclass(frozen=True)
class Product:
    """One catalog entry."""

    sku: str
    title: str
    kinguin_product_id: str
    price: Decimal
    currency: str
    max_purchase_price: Decimal
    active: bool
    # Where its keys are redeemed (Kinguin's `platform`), for the customer's redemption help.
    platform: str | None = None
    updated_at: datetime | None = None
    # What Kinguin last had of it (None: never observed); filled by `Catalog.all` only.
    availability: Availability | None = None


class Catalog(abc.ABC):
    """What can be ordered, at what price, and the most we pay Kinguin."""

    @abc.abstractmethod
    async def by_sku(self, skus: Iterable[str]) -> dict[str, Product]:
        """The products among `skus` that exist (active or not), by sku."""

    @abc.abstractmethod
    async def all(self) -> list[Product]:
        """Every product, with what Kinguin last had of it."""

    @abc.abstractmethod
    async def sells(self, kinguin_product_id: str) -> bool:
        """Whether an active product is sold as `kinguin_product_id`."""

    @abc.abstractmethod
    async def upsert(self, product: Product) -> Product:
        """Create or replace the product with `product.sku`; the stored row."""


@dataclass(frozen=True)
class RefundToPay:
    """A refund as its payout needs it, with the customer's email for its events."""

    id: int
    order_id: UUID
    status: str
    amount: Decimal
    currency: str
    reason: str
    cause: str | None
    payout_address: str | None
    payout_extra_id: str | None
    email: str


@dataclass(frozen=True)
class PayoutRow:
    """One payout attempt of a refund."""

    id: int
    refund_id: int
    attempt: int
    unique_external_id: str
    status: str
    provider_payout_id: str | None
    batch_id: str | None
    address: str
    extra_id: str | None
    currency: str
    amount: Decimal
    hash: str | None
    error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class PayoutIpnEntry:
    """A payout IPN as received: authentic or not, and what it claims."""

    raw_body: bytes
    signature_valid: bool
    result: str
    provider_payout_id: str | None = None
    status: str | None = None


class PayoutLedger(abc.ABC):
    """Payout attempts, the payout IPNs received, and the refunds they pay. Claims skip
    rows another instance holds, so that several may run the payout runner."""

    @abc.abstractmethod
    async def claim_approved_refund(self) -> RefundToPay | None:
        """The oldest approved refund no other instance is working on, locked."""

    @abc.abstractmethod
    async def lock_refund(self, refund_id: int) -> RefundToPay:
        """Refund `refund_id`, locked (waiting for another instance if need be)."""

    @abc.abstractmethod
    async def next_attempt(self, refund_id: int) -> int:
        """The number of the refund's next payout attempt (1 for its first)."""

    @abc.abstractmethod
    async def insert(
        self, refund: RefundToPay, attempt: int, external_id: str, amount: Decimal
    ) -> PayoutRow:
        """A new payout row in `requesting`, to the refund's claimed address."""

    @abc.abstractmethod
    async def claim(self, statuses: frozenset[str], untouched_since: datetime) -> PayoutRow | None:
        """The payout in one of `statuses` longest untouched (not since `untouched_since`)
        that no other instance is working on, locked."""

    @abc.abstractmethod
    async def lock(self, payout_id: int) -> PayoutRow:
        """The payout, locked."""

    @abc.abstractmethod
    async def lock_by_provider_id(self, provider_id: str) -> PayoutRow | None:
        """The payout NOWPayments knows as `provider_id`, locked, if we have it."""

    @abc.abstractmethod
    async def update(self, payout_id: int, **values: object) -> None:
        """Change `values` of the payout (and its `updated_at`, which also says when it
        was last looked at)."""

    @abc.abstractmethod
    async def log_ipn(self, entry: PayoutIpnEntry) -> int | None:
        """Store `entry`; None when an authentic IPN with the same body is already stored."""

    @abc.abstractmethod
    async def claim_pending_ipn(self) -> tuple[int, bytes] | None:
        """The oldest pending payout IPN (id, body), locked."""

    @abc.abstractmethod
    async def mark_ipn(self, ipn_id: int, result: str) -> None:
        """What applying the payout IPN came to."""


@dataclass(frozen=True)
class DueOrder:
    """An order due a reconciliation: what the reconciler needs to ask about it."""

    order_id: UUID
    status: str
    invoice_id: str | None
    invoiced_at: datetime
    attempts: int


class Reconciliation(abc.ABC):
    """The reconciler's view of orders: which are due a question to NOWPayments, claimed
    for a while so that several instances never ask about the same order at once."""

    @abc.abstractmethod
    async def claim_due(self, limit: int, lease: timedelta) -> list[DueOrder]:
        """Up to `limit` orders whose reconciliation is due, pushed `lease` into the future
        so that no other instance takes them meanwhile (a crash just delays them by
        `lease`). Orders another transaction holds (the IPN processor applying an IPN)
        are skipped."""

    @abc.abstractmethod
    async def known_payments(self, order_id: UUID) -> list[KnownPayment]:
        """The order's payments as we know them."""

    @abc.abstractmethod
    async def order_status(self, order_id: UUID) -> str | None:
        """The order's status now."""

    @abc.abstractmethod
    async def schedule(self, order_id: UUID, at: datetime | None) -> None:
        """The order was just reconciled: next at `at` (None: never again)."""

    @abc.abstractmethod
    async def expire_unpaid(self, order_id: UUID) -> bool:
        """Mark the order ``expired`` if it is still waiting for its first payment and
        none is known; whether it was."""


class RateLimits(abc.ABC):
    """Fixed-window hit counters every instance shares."""

    @abc.abstractmethod
    async def hit(self, limit: Limit, key: str, now: datetime) -> None:
        """Count one hit on `limit` for `key`; `RateLimited` once past its maximum."""

    @abc.abstractmethod
    async def forget_before(self, before: datetime) -> int:
        """Drop the counters of windows that began before `before`; how many."""


# The series per hour of `Figures.hourly`, each a column of the admin's ``hours``.
SERIES = ("placed", "paid", "failed", "refunds_due")


@dataclass(frozen=True)
class OpenItem:
    """An open flag or a refund still owed: what the admin's "needs action" links to."""

    id: int
    order_id: UUID | None
    kind: str
    at: datetime


@dataclass(frozen=True)
class OpenItems:
    count: int
    items: list[OpenItem]


class Figures(abc.ABC):
    """What the admin's home page counts of payments, each figure one SQL aggregate."""

    @abc.abstractmethod
    async def hourly(self, since: datetime) -> dict[datetime, dict[str, int]]:
        """Each hour from `since` with something in it: how many of each `SERIES`."""

    @abc.abstractmethod
    async def open_flags(self) -> OpenItems:
        """Flags no admin has decided yet: how many, and the newest."""

    @abc.abstractmethod
    async def refunds_owed(self) -> OpenItems:
        """Refunds owed with nothing paid yet (due, claimed, or whose payout failed)."""


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

    @property
    def catalog(self) -> Catalog: ...

    @property
    def payouts(self) -> PayoutLedger: ...

    @property
    def reconciliation(self) -> Reconciliation: ...

    @property
    def rate_limits(self) -> RateLimits: ...

    @property
    def figures(self) -> Figures: ...

    async def rollback(self) -> None:
        """Undo everything since the last commit, its queued events included (callbacks
        registered with `on_commit` are kept). After a failure that broke the connection
        the unit of work cannot go on: leave it."""
