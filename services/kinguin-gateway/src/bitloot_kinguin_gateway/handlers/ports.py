"""What the gateway's use cases need of storage: the repository ports, and the unit of
work that hands them out (`GatewayWork`). The real repositories are in `adapters/`, the
in-memory ones in the tests' `fakes.py`; both subclass these ports. The Kinguin client
and the rate limiter are collaborators of the use cases, not repositories."""

import abc
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Protocol
from uuid import UUID

from pydantic import JsonValue

from bitloot_kinguin_gateway.domain.key_return import KeyReturn
from bitloot_kinguin_gateway.domain.product import Availability, Product
from bitloot_kinguin_gateway.domain.reservation import Attempt, Reservation
from bitloot_kinguin_gateway.domain.webhook import LoggedWebhook, WebhookCall
from bitloot_runtime.db import Work


class Reservations(abc.ABC):
    """Each order's reservation at Kinguin and every external id it was bought under."""

    @abc.abstractmethod
    async def lock_order(self, order_id: UUID) -> None:
        """Serialise, until this transaction ends, every handler working on the order:
        two different requests for one order must not both find it absent at Kinguin.
        Asked again in the same transaction, it returns at once while the lock is held,
        and fails if the transaction died (the database dropped the session)."""

    @abc.abstractmethod
    async def open(
        self, order_id: UUID, lines: list[dict[str, JsonValue]]
    ) -> tuple[Reservation, datetime | None]:
        """The order's reservation, created in state `placing` with its first external id
        if it had none; and, if this call created it, the stamp it gave that external id
        (`mark_sent`), else None. One statement when it creates it."""

    @abc.abstractmethod
    async def attempts(self, order_id: UUID) -> list[Attempt]:
        """Every external id used for the order, first attempt first."""

    @abc.abstractmethod
    async def start_attempt(self, order_id: UUID) -> Reservation:
        """Record a new external id for the order and make it the current attempt,
        `placing` again with nothing known about it: before any call uses it."""

    @abc.abstractmethod
    async def locate(
        self, kinguin_order_id: str | None, order_external_id: str | None, order_id: UUID | None
    ) -> tuple[Attempt | None, Reservation | None, str | None]:
        """The attempt a Kinguin order belongs to, by its id or else by our external id;
        and the order's reservation, locked for update, by the Kinguin order id or else by
        the attempt's order or else by `order_id`, with the trace it was opened in. One
        statement."""

    @abc.abstractmethod
    async def mark_sent(self, order_external_id: str) -> datetime:
        """Stamp `order_external_id` now: a purchase under it may be sent (commit before
        it). The stamp, for `unstamp`."""

    @abc.abstractmethod
    async def unstamp(self, order_external_id: str, stamp: datetime) -> None:
        """No purchase was sent under `order_external_id` since `stamp`: clear it, unless
        it was stamped again since (by a handler that took the order over)."""

    @abc.abstractmethod
    async def in_flight(self, order_external_id: str, window: float) -> float:
        """Seconds until a purchase under `order_external_id` is over, counting `window`
        seconds from its last stamp; 0 if none can still be under way."""

    @abc.abstractmethod
    async def record_attempt_status(
        self, attempt: Attempt, kinguin_order_id: str, status: str
    ) -> None:
        """What Kinguin said about one attempt's order (current or superseded)."""

    @abc.abstractmethod
    async def get(self, order_id: UUID, *, for_update: bool = False) -> Reservation | None: ...

    @abc.abstractmethod
    async def mark_placed(
        self, order_id: UUID, kinguin_order_id: str, status: str, *, attempt: Attempt | None = None
    ) -> None:
        """The order is bought: by the current attempt, or by an earlier `attempt` found
        live at Kinguin (which becomes the current one again)."""

    @abc.abstractmethod
    async def mark_failed(self, order_id: UUID, code: str, reason: str) -> None: ...

    @abc.abstractmethod
    async def record_status(
        self, order_id: UUID, kinguin_order_id: str, status: str, at: datetime | None
    ) -> None: ...

    @abc.abstractmethod
    async def record_keys(self, order_id: UUID, count: int, email: str) -> None: ...


class Products(abc.ABC):
    """The products the catalog lists and what Kinguin last said of each."""

    @abc.abstractmethod
    async def prices(self, product_ids: Iterable[str], max_age: float) -> dict[str, Decimal]:
        """The price (EUR) of each of the products that Kinguin was read for at most
        `max_age` seconds ago and that was in stock when last heard of (one statement,
        on every order)."""

    @abc.abstractmethod
    async def set_listed(self, product_id: str, *, watched: bool, listed_at: datetime) -> bool:
        """Watch the product or stop watching it, unless a later listing was applied
        already; whether this one was applied."""

    @abc.abstractmethod
    async def get(self, product_id: str, *, for_update: bool = False) -> Product | None: ...

    @abc.abstractmethod
    async def watched(self) -> list[str]:
        """The watched products, those read longest ago (or never) first."""

    @abc.abstractmethod
    async def unread(self) -> list[str]:
        """The watched products never read from Kinguin."""

    @abc.abstractmethod
    async def record(
        self, product_id: str, availability: Availability, at: datetime, *, synced: bool
    ) -> None:
        """Store what Kinguin said of the product, as of `at`."""

    @abc.abstractmethod
    async def mark_synced(self, product_id: str) -> None: ...


class KeyReturns(abc.ABC):
    """What we asked Kinguin to take back, one request per Kinguin order."""

    @abc.abstractmethod
    async def get(self, kinguin_order_id: str) -> KeyReturn | None: ...

    @abc.abstractmethod
    async def refunded_by_us(self, kinguin_order_id: str, status: str) -> bool:
        """Whether Kinguin's `status` for the order is the outcome of our own return
        request (`refunded` after we asked, whatever its answer was), not news."""

    @abc.abstractmethod
    async def add(
        self,
        kinguin_order_id: str,
        order_id: UUID,
        state: str,
        *,
        requested_by: str | None,
        reason: str | None = None,
    ) -> bool:
        """Record the request (or the decision not to make one); False when the Kinguin
        order has a row already: it is never asked twice."""

    @abc.abstractmethod
    async def settle(
        self, kinguin_order_id: str, state: str, *, reason: str | None, key_count: int | None
    ) -> None: ...


class Webhooks(abc.ABC):
    """The webhook log: every call, once, with what became of it."""

    @abc.abstractmethod
    async def record(self, call: WebhookCall) -> tuple[int, bool]:
        """Log `call`; its row id, and whether it repeats an authenticated one.

        The partial unique index decides: the first copy inserts; a later copy conflicts
        and is inserted again marked `duplicate`, not applied, so racing copies cannot
        both apply.
        """

    @abc.abstractmethod
    async def settle(
        self, row_id: int, *, order_id: UUID | None, applied: bool, note: str | None
    ) -> None: ...

    @abc.abstractmethod
    async def get(self, row_id: int, *, for_update: bool = False) -> LoggedWebhook | None: ...


class GatewayWork(Work, Protocol):
    """The unit of work a gateway use case runs in, with its repositories; a use case
    that opens its own leaves it without `commit()` to roll back."""

    @property
    def reservations(self) -> Reservations: ...

    @property
    def products(self) -> Products: ...

    @property
    def key_returns(self) -> KeyReturns: ...

    @property
    def webhooks(self) -> Webhooks: ...
