"""The gateway's unit of work: the runtime's transaction, handing out the repositories."""

from functools import cached_property

from bitloot_kinguin_gateway.adapters.key_returns import KeyReturnRepository
from bitloot_kinguin_gateway.adapters.products import ProductRepository
from bitloot_kinguin_gateway.adapters.repository import ReservationRepository
from bitloot_kinguin_gateway.adapters.webhook_log import WebhookLog
from bitloot_runtime.db import UnitOfWork


class GatewayUnitOfWork(UnitOfWork):
    """`GatewayWork` on PostgreSQL: every repository works in this transaction."""

    @cached_property
    def reservations(self) -> ReservationRepository:
        return ReservationRepository(self)

    @cached_property
    def products(self) -> ProductRepository:
        return ProductRepository(self)

    @cached_property
    def key_returns(self) -> KeyReturnRepository:
        return KeyReturnRepository(self.session)

    @cached_property
    def webhooks(self) -> WebhookLog:
        return WebhookLog(self)
