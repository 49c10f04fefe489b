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

from bitloot_delivery.domain.emails import EmailKind
from bitloot_delivery.domain.links import LinkRefused, RevealLinks, link_url
from bitloot_delivery.domain.rate_limits import Limit, RateLimited
from bitloot_delivery.domain.retention import KeysPurged
from bitloot_delivery.domain.revocation import OrderRefunded
from bitloot_delivery.handlers.ports import DeliveryWork, KeyEvent, StoredDelivery
from bitloot_delivery.handlers.reveal import Visitor
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


@dataclass(kw_only=True, eq=False, repr=False)
class IssueLink:
    """A fresh link in the answer, for the holder of the order token or an admin."""

    unit_of_work: Callable[[], DeliveryWork]
    links: RevealLinks
    public_url: str

    async def __call__(self, order_id: UUID, actor: str, visitor: Visitor) -> IssuedLink:
        """A fresh link to `order_id`'s keys, audited; `DeliveryNotFound`, `KeysPurged`
        or `OrderRefunded`."""
        now = datetime.now(UTC)
        with log_context(order_id=str(order_id)):
            async with self.unit_of_work() as uow:
                _live(await uow.deliveries.get(order_id))
                event = KeyEvent("link_issued", actor, visitor.ip, visitor.user_agent)
                await uow.deliveries.record_event(order_id, event)
                await uow.commit()
            logger.info("fresh link issued", extra={"actor": actor})
        token = self.links.issue(order_id, now)
        return IssuedLink(link_url(self.public_url, token), self.links.expires_at(now))


@dataclass(kw_only=True, eq=False, repr=False)
class ResendLink:
    """Another link email to the order's address, because an admin asked."""

    unit_of_work: Callable[[], DeliveryWork]

    async def __call__(self, order_id: UUID, actor: str) -> int:
        """Queue the email; its id. `DeliveryNotFound`, `KeysPurged` or `OrderRefunded`."""
        async with self.unit_of_work() as uow:
            delivery = _live(await uow.deliveries.get(order_id))
            email_id = await uow.emails.queue(order_id, EmailKind.RESEND, delivery.customer_email)
            await uow.deliveries.record_event(order_id, KeyEvent("link_resent", actor))
            await uow.commit()
        assert email_id is not None  # only delivery emails are limited to one per order
        return email_id


@dataclass(kw_only=True, eq=False, repr=False)
class EmailFreshLink:
    """A new link emailed to the order an expired (or still valid) link names."""

    unit_of_work: Callable[[], DeliveryWork]
    links: RevealLinks
    limits: FreshLinkLimits

    async def __call__(self, token: str, visitor: Visitor) -> None:
        """Queue the email if the order has keys; `RateLimited` past either limit.
        Returns the same for any token, except `OrderRefunded` for a genuine link of an
        order whose keys were revoked (its holder may know that much)."""
        try:
            order_id: UUID | None = self.links.verify(token)
        except LinkRefused as refused:
            order_id = refused.order_id
        async with self.unit_of_work() as uow:
            try:
                await self._count(uow, visitor, order_id)
            except RateLimited:
                await uow.commit()  # a refused request still counts
                raise
            await uow.commit()
        if order_id is not None:
            with log_context(order_id=str(order_id)):
                await self._queue_fresh_link(order_id, visitor)

    async def _count(self, uow: DeliveryWork, visitor: Visitor, order_id: UUID | None) -> None:
        now = datetime.now(UTC)
        await uow.rate_limits.hit(self.limits.per_ip, visitor.ip or "unknown", now)
        if order_id is not None:
            await uow.rate_limits.hit(self.limits.per_order, str(order_id), now)

    async def _queue_fresh_link(self, order_id: UUID, visitor: Visitor) -> None:
        async with self.unit_of_work() as uow:
            delivery = await uow.deliveries.get(order_id)
            if delivery is None or delivery.purged_at is not None:
                logger.info("fresh link asked for an order without keys; nothing sent")
                return
            if delivery.revoked_at is not None:
                logger.info("fresh link asked for a refunded order; nothing sent")
                raise OrderRefunded(str(order_id))
            await uow.emails.queue(order_id, EmailKind.FRESH_LINK, delivery.customer_email)
            event = KeyEvent("fresh_link_emailed", "customer", visitor.ip, visitor.user_agent)
            await uow.deliveries.record_event(order_id, event)
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
