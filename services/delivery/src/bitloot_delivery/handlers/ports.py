"""What delivery's use cases ask of their unit of work: the repositories it hands out
(abstract here; `adapters` holds the PostgreSQL ones, the tests' `fakes` the in-memory
ones) and the records that go in and out of them, never a session or a row; and the
object store they use beside it."""

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from bitloot_contracts.events import Event
from bitloot_delivery.domain.emails import EmailKind, SmtpStage
from bitloot_delivery.domain.keys import DeliveredKey
from bitloot_delivery.domain.notices import DelayNotice
from bitloot_delivery.domain.rate_limits import Limit
from bitloot_delivery.domain.refund_notices import RefundNotice
from bitloot_delivery.domain.summaries import OrderSummary
from bitloot_runtime.db import Work


@dataclass(frozen=True)
class NewDelivery:
    """A delivery to record: where the ciphertext is and the wrapped key that opens it."""

    order_id: UUID
    customer_email: str
    kinguin_order_id: str
    kek_id: str
    wrapped_data_key: bytes
    object_key: str
    key_count: int


@dataclass(frozen=True)
class StoredDelivery:
    """A recorded delivery and what has happened to it since; once retention has purged
    it, `purged_at` is set and `wrapped_data_key` is gone; once an admin revoked its keys
    (refunding the order), `revoked_at` is set and nothing reveals them."""

    order_id: UUID
    customer_email: str
    kinguin_order_id: str
    kek_id: str
    wrapped_data_key: bytes | None
    object_key: str
    key_count: int
    stored_at: datetime
    emailed_at: datetime | None
    viewed_at: datetime | None
    purged_at: datetime | None
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    revoke_note: str | None = None


@dataclass(frozen=True)
class KeyEvent:
    """One row of the key audit (besides reveals, which have their own table)."""

    action: str
    actor: str
    ip: str | None = None
    user_agent: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class ClaimedEmail:
    """An email whose attempt has started; `claimed_at` identifies the attempt. A delay
    notice has its `notice` (and a key count of 0 while the order has no delivery), a
    refund email its `refund_notice`."""

    id: int
    order_id: UUID
    kind: EmailKind
    to_address: str
    attempts: int
    key_count: int
    message_id: str
    claimed_at: datetime
    doubtful_resends: int = 0
    notice: DelayNotice | None = None
    refund_notice: RefundNotice | None = None
    # What the order is (products, amount), if delivery has learnt it by the claim.
    summary: OrderSummary | None = None
    # The trace the email was queued in (None for one queued before traces were kept).
    traceparent: str | None = None


@dataclass(frozen=True)
class StaleAttempt:
    """An attempt still `sending` after the lease (its sender died, or hangs), and the
    SMTP stage it was known to have reached (None if its sender recorded none)."""

    email: ClaimedEmail
    stage: SmtpStage | None


class Deliveries(abc.ABC):
    """The stored deliveries, their keys' metadata, reveals and key audit."""

    @abc.abstractmethod
    async def lock_order(self, order_id: UUID) -> None:
        """Serialise work on one order until the transaction ends (two copies of its keys
        handled at once never overwrite each other's object; a reveal and a revoke never
        both succeed)."""

    @abc.abstractmethod
    async def get(self, order_id: UUID) -> StoredDelivery | None: ...

    @abc.abstractmethod
    async def add(self, delivery: NewDelivery, keys: Sequence[DeliveredKey]) -> None:
        """The delivery, one metadata row per key (never its value) and its one email
        queued; a delay notice still waiting to go out is withdrawn."""

    @abc.abstractmethod
    async def record_reveal(
        self, order_id: UUID, ip: str | None, user_agent: str | None
    ) -> None: ...

    @abc.abstractmethod
    async def reveal_count(self, order_id: UUID) -> int: ...

    @abc.abstractmethod
    async def mark_revoked(self, order_id: UUID, actor: str, note: str | None) -> datetime:
        """Mark the delivery revoked (never revealed again); when."""

    @abc.abstractmethod
    async def record_event(self, order_id: UUID, event: KeyEvent) -> None: ...

    @abc.abstractmethod
    async def wrapped_by_other_keks(
        self, current_kek_id: str, limit: int, skip: Sequence[UUID]
    ) -> list[tuple[UUID, str, bytes]]:
        """Up to `limit` live data keys not wrapped by `current_kek_id` (and not in
        `skip`), locked; rows another re-wrapper holds are passed over."""

    @abc.abstractmethod
    async def set_wrapped_data_key(self, order_id: UUID, kek_id: str, wrapped: bytes) -> None: ...

    @abc.abstractmethod
    async def due_for_purge(
        self, stored_before: datetime, limit: int, offset: int = 0
    ) -> list[tuple[UUID, str]]:
        """Up to `limit` unpurged deliveries stored before `stored_before` (after the
        first `offset`), oldest first, locked, as (order id, object key)."""

    @abc.abstractmethod
    async def mark_purged(self, order_id: UUID) -> None:
        """Purged, and the wrapped data key forgotten too: any copy of the ciphertext left
        anywhere (a backup, a replica) can no longer be opened."""


class EmailLog(abc.ABC):
    """Every email queued for an order and each attempt at it. Every write to an attempt
    names it by `claimed_at`, and changes nothing (False) once it is no longer ours."""

    @abc.abstractmethod
    async def queue(
        self, order_id: UUID, kind: EmailKind, to_address: str, notice: DelayNotice | None = None
    ) -> int | None:
        """Queue an email (a `delayed` one with its `notice`); its id, or None for a
        second delivery email or delay notice of the order."""

    @abc.abstractmethod
    async def claim_due(self, message_id: str) -> tuple[ClaimedEmail | None, bool]:
        """Start an attempt at the oldest due email (`message_id` if it has none yet),
        skipping those another sender holds; and whether another email was due beside."""

    @abc.abstractmethod
    async def reach_data(self, email: ClaimedEmail) -> bool:
        """Record that the attempt is about to send DATA."""

    @abc.abstractmethod
    async def finish_sent(self, email: ClaimedEmail, events: Sequence[Event] = ()) -> bool:
        """Record the mail server's acceptance (the delivery marked emailed for the
        delivery email) and queue `events`, only if the attempt is ours: if it was taken
        back as stale meanwhile, nothing changes and nothing is queued."""

    @abc.abstractmethod
    async def finish_refused(
        self, email: ClaimedEmail, error: str, retry_at: datetime | None
    ) -> bool:
        """Record a refusal: due again at `retry_at`, or failed for good if None."""

    @abc.abstractmethod
    async def finish_unconfirmed(self, email: ClaimedEmail, error: str) -> bool:
        """Cut off during DATA once too often: `unconfirmed`, never repeated by itself."""

    @abc.abstractmethod
    async def recover(self, email: ClaimedEmail, error: str) -> bool:
        """Put an attempt cut before DATA back in the queue, due now (same Message-ID)."""

    @abc.abstractmethod
    async def resend_doubtful(self, email: ClaimedEmail, retry_at: datetime, error: str) -> bool:
        """Queue the one resend of an attempt cut during DATA (same Message-ID), due at
        `retry_at`; its stage stays `data` until the resend is claimed."""

    @abc.abstractmethod
    async def stale(self, lease: timedelta) -> list[StaleAttempt]:
        """Every attempt under way for longer than `lease`, locked until the transaction
        ends, skipping those another sender is taking care of."""


class Notices(abc.ABC):
    """The notices in the email log: refund emails, resends, withdrawn key emails."""

    @abc.abstractmethod
    async def queue_refund(
        self, kind: EmailKind, to_address: str, notice: RefundNotice
    ) -> int | None:
        """Queue a refund email; its id, or None for a second refund_due or refund_sent
        email of the same refund."""

    @abc.abstractmethod
    async def refund_notice(self, refund_id: int) -> RefundNotice | None:
        """What the refund's latest `refund_due` email says, if it has one."""

    @abc.abstractmethod
    async def claim_links_since(self, refund_id: int, since: datetime) -> int:
        """How many claim-link emails of the refund were queued after `since`."""

    @abc.abstractmethod
    async def resend(
        self, order_id: UUID, kind: EmailKind, actor: str, refund_id: int | None = None
    ) -> int | None:
        """Queue a copy of the order's latest `kind` notice (of `refund_id`, if given)
        that went out or was at least tried; None if there is none."""

    @abc.abstractmethod
    async def withdraw_key_emails(self, order_id: UUID) -> int:
        """Withdraw the order's key emails waiting to go out; how many. One whose attempt
        is under way goes out, and its link then answers that the order was refunded."""


class RateLimits(abc.ABC):
    """Fixed-window hit counters every instance shares."""

    @abc.abstractmethod
    async def hit(self, limit: Limit, key: str, now: datetime) -> None:
        """Count one hit on `limit` for `key`; `RateLimited` once past its maximum."""

    @abc.abstractmethod
    async def forget_before(self, before: datetime) -> None:
        """Drop the counters of windows that began before `before`."""


class Summaries(abc.ABC):
    """What each order is, in words, and when it was paid (from payment.finished)."""

    @abc.abstractmethod
    async def record(
        self, order_id: UUID, summary: OrderSummary, paid_at: datetime | None = None
    ) -> bool:
        """Keep the summary; False if one was kept already."""

    @abc.abstractmethod
    async def of_order(self, order_id: UUID) -> OrderSummary | None: ...

    @abc.abstractmethod
    async def paid_at(self, order_id: UUID) -> datetime | None:
        """When the order's payment finished, as payment.finished said (None if unknown)."""


class ObjectStore(Protocol):
    """Where the ciphertexts are kept (S3): a collaborator of the use cases, not a
    repository (it is outside the transaction)."""

    async def put(self, key: str, body: bytes) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None: ...

    async def presigned_get(self, key: str, ttl_seconds: int) -> str: ...


class DeliveryWork(Work, Protocol):
    """Delivery's unit of work: one transaction, and the repositories working in it
    (read-only, so that each implementation names its own repository classes)."""

    @property
    def deliveries(self) -> Deliveries: ...

    @property
    def emails(self) -> EmailLog: ...

    @property
    def notices(self) -> Notices: ...

    @property
    def rate_limits(self) -> RateLimits: ...

    @property
    def summaries(self) -> Summaries: ...
