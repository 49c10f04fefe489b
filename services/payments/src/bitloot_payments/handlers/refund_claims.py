"""The customer claims their refund: the claim link's token (signed by delivery, verified
here with its public keys only) names the refund; the customer gives a payout address.

- Showing the page changes nothing.
- Claiming checks, in this order: the rate limits (per client address and per refund;
  a refused request still counts), the token, the refund's status (`already_claimed`,
  `refund_closed`), the address (`domain.payout_address`); then, holding the refund's row,
  records it ``claimed`` and emits ``refund.status_changed`` in one transaction.
- An expired but genuine token may ask for a new link: ``refund.claim_link_requested``
  (delivery, which owns email, sends it to the order's address), rate-limited too.

The payout address is customer data: it is logged as a short prefix only, the token never.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bitloot_contracts.events import RefundClaimLinkRequested
from bitloot_payments.domain import refunds as rules
from bitloot_payments.domain.payout_address import check_payout
from bitloot_payments.domain.records import Refund
from bitloot_payments.handlers.ports import PaymentsWork
from bitloot_payments.handlers.refunds import emit_refund
from bitloot_runtime.logging import log_context
from bitloot_runtime.rate_limits import Limit, RateLimited
from bitloot_runtime.tokens import ClaimGrant, ClaimTokenVerifier, InvalidToken

logger = logging.getLogger(__name__)


class ClaimLinkExpired(Exception):
    """The token is genuine but expired: the page offers a new link."""


@dataclass(frozen=True)
class ClaimLimits:
    """Claims (per client address and per refund) and new links (the same)."""

    claims_per_ip: Limit
    claims_per_refund: Limit
    links_per_ip: Limit
    links_per_refund: Limit


@dataclass(frozen=True)
class Claimable:
    """The refund the token names, and the order it belongs to."""

    refund: Refund
    order_email: str


def address_prefix(address: str) -> str:
    """What a log line may show of a payout address."""
    return address[:6] + "…"


@dataclass(frozen=True)
class UsesClaims:
    """What showing the claim page, claiming, and asking for a new claim link share."""

    unit_of_work: Callable[[], PaymentsWork]
    verifier: ClaimTokenVerifier
    limits: ClaimLimits

    def _grant(self, token: str | None) -> ClaimGrant:
        """The refund a live token names; `ClaimLinkExpired` for a genuine expired one,
        `InvalidToken` otherwise."""
        try:
            return self.verifier.verify(token)
        except InvalidToken as refusal:
            if refusal.code == "token_expired":
                raise ClaimLinkExpired() from None
            raise

    async def _count(
        self, client: str | None, token: str | None, per_ip: Limit, per_refund: Limit
    ) -> None:
        """Count the request against the client's and (if the token is genuine, expired
        or not) its refund's limits, committed even when refused."""
        try:
            grant: ClaimGrant | None = self.verifier.verify(token, allow_expired=True)
        except InvalidToken:
            grant = None
        async with self.unit_of_work() as uow:
            limiter, now = uow.rate_limits, datetime.now(UTC)
            try:
                await limiter.hit(per_ip, client or "unknown", now)
                if grant is not None:
                    await limiter.hit(per_refund, str(grant.refund_id), now)
            except RateLimited:
                await uow.commit()  # a refused request still counts
                raise
            await uow.commit()


class ShowClaim(UsesClaims):
    async def __call__(self, token: str | None) -> Claimable:
        """The refund to show on the page (any status: the page says where it stands)."""
        grant = self._grant(token)
        async with self.unit_of_work() as uow:
            return await _claimable(uow, grant, lock=False)


class ClaimRefund(UsesClaims):
    async def __call__(
        self, token: str | None, address: str, extra_id: str | None, client: str | None
    ) -> Refund:
        """Record where the refund goes; the refund as claimed. `RateLimited`,
        `ClaimLinkExpired`, `InvalidToken`, `rules.RefundRefused` or `AddressRefused`."""
        limits = self.limits
        await self._count(client, token, limits.claims_per_ip, limits.claims_per_refund)
        grant = self._grant(token)
        async with self.unit_of_work() as uow:
            found = await _claimable(uow, grant, lock=True)
            refund = found.refund
            with log_context(order_id=str(refund.order_id)):
                rules.check_claim(refund.status)
                payout, extra = check_payout(refund.currency, address, extra_id)
                claimed = await uow.refunds.move(
                    refund.id,
                    rules.CLAIMED,
                    payout_address=payout,
                    payout_extra_id=extra,
                    claimed_at=datetime.now(UTC),
                )
                await emit_refund(uow, claimed, refund.status, found.order_email)
                await uow.commit()
                logger.info(
                    "refund claimed",
                    extra={"refund_id": refund.id, "address_prefix": address_prefix(payout)},
                )
        return claimed


class RequestClaimLink(UsesClaims):
    async def __call__(self, token: str | None, client: str | None) -> Refund:
        """Ask delivery for a new claim link for the refund an expired (or live) genuine
        token names; the refund. Nothing is asked for a refund no longer due."""
        await self._count(client, token, self.limits.links_per_ip, self.limits.links_per_refund)
        grant = self.verifier.verify(token, allow_expired=True)
        async with self.unit_of_work() as uow:
            found = await _claimable(uow, grant, lock=True)
            refund = found.refund
            with log_context(order_id=str(refund.order_id)):
                if refund.status != rules.DUE:
                    logger.info("new claim link not asked", extra={"status": refund.status})
                    return refund
                await uow.emit(
                    RefundClaimLinkRequested(
                        order_id=refund.order_id,
                        refund_id=refund.id,
                        customer_email=found.order_email,
                    )
                )
                await uow.commit()
                logger.info("new claim link asked for", extra={"refund_id": refund.id})
        return refund


async def _claimable(uow: PaymentsWork, grant: ClaimGrant, *, lock: bool) -> Claimable:
    refund = await uow.refunds.load(grant.refund_id, lock=lock)
    order = await uow.orders.load(grant.order_id) if refund else None
    if refund is None or order is None or refund.order_id != grant.order_id:
        # Only delivery's key signs tokens, and only for refunds we announced: a test's
        # or another installation's token.
        raise InvalidToken("token_invalid", "The claim link names no refund of ours.")
    return Claimable(refund, order.email)
