"""Fresh reveal links: for the holder of the order token, for an admin, and (by email to
the order's address) for whoever holds an expired link.

The expired-link path never says whether an order exists: a forged or unknown token, an
order without keys and a genuine expired link all get the same answer, and only a link
whose signature verifies can make an email go out, to the address the order already
has. It is rate-limited per client address and per order, with counters in PostgreSQL.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from bitloot_delivery.adapters.email_log import EmailLog
from bitloot_delivery.adapters.rate_limits import RateLimiter
from bitloot_delivery.adapters.repository import DeliveryRepository, KeyEvent, StoredDelivery
from bitloot_delivery.domain.emails import EmailKind
from bitloot_delivery.domain.links import LinkRefused, RevealLinks, link_url
from bitloot_delivery.domain.rate_limits import Limit, RateLimited
from bitloot_delivery.domain.retention import KeysPurged
from bitloot_delivery.domain.revocation import OrderRefunded
from bitloot_delivery.handlers.reveal import Visitor
from bitloot_runtime.db import UnitOfWork
from bitloot_runtime.logging import log_context

logger = logging.getLogger(__name__)


class DeliveryNotFound(Exception):
    """No keys were delivered for the order (yet)."""


@dataclass(frozen=True)
class IssuedLink:
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class FreshLinkLimits:
    per_ip: Limit
    per_order: Limit


class Links:
    """Issuing links directly (order token, admin) and by email (expired link)."""

    def __init__(
        self,
        *,
        unit_of_work: Callable[[], UnitOfWork],
        links: RevealLinks,
        public_url: str,
        limits: FreshLinkLimits,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._links = links
        self._public_url = public_url
        self._limits = limits

    async def issue(self, order_id: UUID, actor: str, visitor: Visitor) -> IssuedLink:
        """A fresh link to `order_id`'s keys, audited; `DeliveryNotFound`, `KeysPurged`
        or `OrderRefunded`."""
        now = datetime.now(UTC)
        with log_context(order_id=str(order_id)):
            async with self._unit_of_work() as uow:
                repository = DeliveryRepository(uow.session)
                _live(await repository.get(order_id))
                event = KeyEvent("link_issued", actor, visitor.ip, visitor.user_agent)
                await repository.record_event(order_id, event)
                await uow.commit()
            logger.info("fresh link issued", extra={"actor": actor})
        token = self._links.issue(order_id, now)
        return IssuedLink(link_url(self._public_url, token), self._links.expires_at(now))

    async def resend(self, order_id: UUID, actor: str) -> int:
        """Queue another link email to the order's address (an admin asked); its id."""
        async with self._unit_of_work() as uow:
            repository = DeliveryRepository(uow.session)
            delivery = _live(await repository.get(order_id))
            email_id = await EmailLog(uow.session).queue(
                order_id, EmailKind.RESEND, delivery.customer_email
            )
            await repository.record_event(order_id, KeyEvent("link_resent", actor))
            await uow.commit()
        assert email_id is not None  # only delivery emails are limited to one per order
        return email_id

    async def email_fresh_link(self, token: str, visitor: Visitor) -> None:
        """Email a new link to the order an expired (or still valid) link names, if it
        has keys; `RateLimited` past either limit. Returns the same for any token, except
        `OrderRefunded` for a genuine link of an order whose keys were revoked (its holder
        may know that much)."""
        try:
            order_id: UUID | None = self._links.verify(token)
        except LinkRefused as refused:
            order_id = refused.order_id
        async with self._unit_of_work() as uow:
            try:
                await self._count(uow, visitor, order_id)
            except RateLimited:
                await uow.commit()  # a refused request still counts
                raise
            await uow.commit()
        if order_id is not None:
            with log_context(order_id=str(order_id)):
                await self._queue_fresh_link(order_id, visitor)

    async def _count(self, uow: UnitOfWork, visitor: Visitor, order_id: UUID | None) -> None:
        limiter, now = RateLimiter(uow.session), datetime.now(UTC)
        await limiter.hit(self._limits.per_ip, visitor.ip or "unknown", now)
        if order_id is not None:
            await limiter.hit(self._limits.per_order, str(order_id), now)

    async def _queue_fresh_link(self, order_id: UUID, visitor: Visitor) -> None:
        async with self._unit_of_work() as uow:
            repository = DeliveryRepository(uow.session)
            delivery = await repository.get(order_id)
            if delivery is None or delivery.purged_at is not None:
                logger.info("fresh link asked for an order without keys; nothing sent")
                return
            if delivery.revoked_at is not None:
                logger.info("fresh link asked for a refunded order; nothing sent")
                raise OrderRefunded(str(order_id))
            await EmailLog(uow.session).queue(
                order_id, EmailKind.FRESH_LINK, delivery.customer_email
            )
            event = KeyEvent("fresh_link_emailed", "customer", visitor.ip, visitor.user_agent)
            await repository.record_event(order_id, event)
            await uow.commit()
        logger.info("fresh link queued for the order's address")


def _live(delivery: StoredDelivery | None) -> StoredDelivery:
    if delivery is None:
        raise DeliveryNotFound()
    if delivery.revoked_at is not None:
        raise OrderRefunded(str(delivery.order_id))
    if delivery.purged_at is not None:
        raise KeysPurged(str(delivery.order_id))
    return delivery
