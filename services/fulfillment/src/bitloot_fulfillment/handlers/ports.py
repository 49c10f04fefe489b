"""What fulfillment's use cases need of storage: the repository ports, and the unit of
work that hands them out (`FulfillmentWork`). The real repositories are in `adapters/`,
the in-memory ones in the tests' `fakes.py`; both subclass these ports."""

import abc
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

from bitloot_fulfillment.domain.saga import OrderSaga
from bitloot_fulfillment.domain.stats import Hour, WaitingOrders
from bitloot_fulfillment.domain.timers import DueTimer
from bitloot_runtime.db import Work


class Sagas(abc.ABC):
    """The sagas and their timers. A saga is read locked until the unit of work ends, so
    two events of one order apply one after the other, never over each other."""

    @abc.abstractmethod
    async def get_for_update(
        self, order_id: UUID, *, skip_locked: bool = False
    ) -> OrderSaga | None:
        """The saga, locked until the transaction ends; with `skip_locked`, None while
        another transaction holds it (the sweeper never waits on a handler)."""

    @abc.abstractmethod
    async def add(self, saga: OrderSaga) -> bool:
        """Store a new saga and what its first step did (transitions, timers, events, as
        `store_step` stores them), in one statement; False, and nothing stored, if the
        order already has a saga. A concurrent insert of the same order waits for the
        first transaction to end."""

    @abc.abstractmethod
    async def store_step(self, saga: OrderSaga, *, save: bool = True) -> None:
        """Store what one step did: the saga (unless `save` is False), its transitions,
        timers and events (queued for publication); the saga is left with none pending."""

    @abc.abstractmethod
    async def idle_for(self, order_id: UUID) -> timedelta | None:
        """How long ago the order's last transition was (the database's clock)."""

    @abc.abstractmethod
    async def deadline_passed(self, order_id: UUID) -> bool:
        """Whether the saga has no deadline still ahead of it (by the database's clock):
        the sweeper has not failed it yet, or its timer is gone."""

    @abc.abstractmethod
    async def claim_due_timers(self, limit: int) -> list[DueTimer]:
        """Due timers no other instance is firing right now, locked until commit."""

    @abc.abstractmethod
    async def delete_timer(self, timer: DueTimer) -> None: ...


class Figures(abc.ABC):
    """What the admin's home page counts of fulfillment."""

    @abc.abstractmethod
    async def hourly(self, since: datetime) -> list[Hour]:
        """Each hour from `since` with an order fulfilled or failed in it, then the whole
        window (`hour` None; always there, zeros when nothing happened)."""

    @abc.abstractmethod
    async def failed_orders(self) -> WaitingOrders:
        """Failed orders an admin still has to settle (no refund paid out yet), newest first."""

    @abc.abstractmethod
    async def stuck_orders(self, deadline: timedelta) -> WaitingOrders:
        """Orders not ended whose saga has not moved for longer than the `deadline` (the ones
        an admin's retry accepts as stuck), newest change first."""


class FulfillmentWork(Work, Protocol):
    """The unit of work a fulfillment use case runs in, with its repositories; a use case
    that opens its own (a request's) leaves it without `commit()` to roll back."""

    @property
    def sagas(self) -> Sagas: ...

    @property
    def figures(self) -> Figures: ...
