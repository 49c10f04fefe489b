"""Reveal links: short-lived HS256 JWTs naming one order, for the customer's email; and
refund claim links, signed with delivery's claim-token key for payments' claim page.

The token is the only credential the customer holds, so it carries nothing but the order
id, its audience and its expiry; a link for one order never opens another, and an
expired or tampered link says no more than that.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from urllib.parse import urlencode
from uuid import UUID

import jwt

from bitloot_runtime.tokens import ClaimTokenSigner

AUDIENCE = "bitloot:reveal"
_ALGORITHM = "HS256"


class LinkProblem(StrEnum):
    """Why a link does not open."""

    EXPIRED = "expired"
    INVALID = "invalid"


class LinkRefused(Exception):
    """A reveal token that does not grant access; `problem` says why. An expired token
    whose signature holds still names its order (`order_id`), for which the customer may
    ask a fresh link; an invalid one names nothing."""

    def __init__(self, problem: LinkProblem, order_id: UUID | None = None) -> None:
        super().__init__(f"Reveal link {problem.value}.")
        self.problem = problem
        self.order_id = order_id


@dataclass(frozen=True)
class RevealLinks:
    """Issues and verifies reveal tokens with one secret."""

    secret: str
    ttl: timedelta

    def issue(self, order_id: UUID, now: datetime | None = None) -> str:
        issued = now or datetime.now(UTC)
        claims = {"sub": str(order_id), "aud": AUDIENCE, "iat": issued, "exp": issued + self.ttl}
        return jwt.encode(claims, self.secret, algorithm=_ALGORITHM)

    def expires_at(self, now: datetime | None = None) -> datetime:
        """When a link issued at `now` stops working."""
        return (now or datetime.now(UTC)) + self.ttl

    def verify(self, token: str) -> UUID:
        """The order the token opens; `LinkRefused` (expired or invalid) otherwise."""
        try:
            return self._order_of(token, verify_exp=True)
        except jwt.ExpiredSignatureError:
            raise LinkRefused(LinkProblem.EXPIRED, self._order_of(token, False)) from None

    def _order_of(self, token: str, verify_exp: bool) -> UUID:
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[_ALGORITHM],
                audience=AUDIENCE,
                options={"require": ["sub", "aud", "exp"], "verify_exp": verify_exp},
            )
            return UUID(str(claims["sub"]))
        except jwt.ExpiredSignatureError:
            raise
        except (jwt.InvalidTokenError, ValueError):
            raise LinkRefused(LinkProblem.INVALID) from None


def link_url(public_url: str, token: str) -> str:
    """The address the customer opens: ``{public_url}/keys/{token}``."""
    return f"{public_url.rstrip('/')}/keys/{token}"


@dataclass(frozen=True)
class ClaimLinks:
    """Refund claim links: payments' claim page with a claim token delivery signs when the
    email goes out (so a resend carries a new one, and a queued email never an old one)."""

    signer: ClaimTokenSigner
    claim_url: str

    def url(self, refund_id: int, order_id: UUID) -> str:
        token = self.signer.issue(refund_id, order_id)
        return f"{self.claim_url}?{urlencode({'token': token})}"

    @property
    def ttl_days(self) -> float:
        return self.signer.ttl.total_seconds() / 86400
