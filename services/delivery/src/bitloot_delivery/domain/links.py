"""Reveal links: short-lived HS256 JWTs naming one order, for the customer's email.

The token is the only credential the customer holds, so it carries nothing but the order
id, its audience and its expiry; a link for one order never opens another, and an
expired or tampered link says no more than that.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from uuid import UUID

import jwt

AUDIENCE = "bitloot:reveal"
_ALGORITHM = "HS256"


class LinkProblem(StrEnum):
    """Why a link does not open."""

    EXPIRED = "expired"
    INVALID = "invalid"


class LinkRefused(Exception):
    """A reveal token that does not grant access; `problem` says why."""

    def __init__(self, problem: LinkProblem) -> None:
        super().__init__(f"Reveal link {problem.value}.")
        self.problem = problem


@dataclass(frozen=True)
class RevealLinks:
    """Issues and verifies reveal tokens with one secret."""

    secret: str
    ttl: timedelta

    def issue(self, order_id: UUID, now: datetime | None = None) -> str:
        issued = now or datetime.now(UTC)
        claims = {"sub": str(order_id), "aud": AUDIENCE, "iat": issued, "exp": issued + self.ttl}
        return jwt.encode(claims, self.secret, algorithm=_ALGORITHM)

    def verify(self, token: str) -> UUID:
        """The order the token opens; `LinkRefused` (expired or invalid) otherwise."""
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[_ALGORITHM],
                audience=AUDIENCE,
                options={"require": ["sub", "aud", "exp"]},
            )
        except jwt.ExpiredSignatureError:
            raise LinkRefused(LinkProblem.EXPIRED) from None
        except jwt.InvalidTokenError:
            raise LinkRefused(LinkProblem.INVALID) from None
        try:
            return UUID(str(claims["sub"]))
        except ValueError:
            raise LinkRefused(LinkProblem.INVALID) from None


def link_url(public_url: str, token: str) -> str:
    """The address the customer opens: ``{public_url}/keys/{token}``."""
    return f"{public_url.rstrip('/')}/keys/{token}"
