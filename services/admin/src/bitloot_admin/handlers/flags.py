"""The payment flags an admin looks at: one flag with the decisions open to it, and the
open flags of an order. Payments owns them; a payments that does not answer makes the
view partial, never an error."""

from dataclasses import dataclass, field
from uuid import UUID

from bitloot_admin.adapters.upstream import NotFound, Unavailable, UpstreamClient
from bitloot_admin.domain.views import Flag, FlagPage, FlagSummary
from bitloot_admin.handlers.ports import UsesUpstream
from bitloot_contracts.topics import PAYMENTS


class FlagNotFound(LookupError):
    def __init__(self, flag_id: int) -> None:
        super().__init__(f"Payments knows no flag {flag_id}.")


@dataclass
class FlagView:
    """The flag, None if payments did not answer (then named in `partial`)."""

    flag: Flag | None
    partial: list[str] = field(default_factory=list)


class ShowFlag(UsesUpstream):
    """Payments' flag `flag_id`; `FlagNotFound` if it has none."""

    async def __call__(self, flag_id: int) -> FlagView:
        answer = await self._upstream.get(PAYMENTS, f"/internal/flags/{flag_id}", Flag)
        if isinstance(answer, NotFound):
            raise FlagNotFound(flag_id)
        if isinstance(answer, Unavailable):
            return FlagView(None, [PAYMENTS])
        return FlagView(answer)


async def open_flags(upstream: UpstreamClient, order_id: UUID) -> list[FlagSummary] | Unavailable:
    """The flags of `order_id` nobody has resolved yet, newest first."""
    params = {"order_id": str(order_id), "status": "open"}
    answer = await upstream.get(PAYMENTS, "/internal/flags", FlagPage, params)
    if isinstance(answer, FlagPage):
        return answer.items
    return Unavailable(PAYMENTS)
