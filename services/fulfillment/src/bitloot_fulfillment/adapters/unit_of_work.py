"""Fulfillment's unit of work: the runtime's transaction, handing out the repositories."""

from functools import cached_property

from bitloot_fulfillment.adapters.repository import SagaRepository
from bitloot_fulfillment.adapters.stats import StatsRepository
from bitloot_runtime.db import UnitOfWork


class FulfillmentUnitOfWork(UnitOfWork):
    """`FulfillmentWork` on PostgreSQL: every repository works in this transaction."""

    @cached_property
    def sagas(self) -> SagaRepository:
        return SagaRepository(self)

    @cached_property
    def figures(self) -> StatsRepository:
        return StatsRepository(self.session)
