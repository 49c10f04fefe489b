"""The refund queue an admin works through: a page of refunds in one status (newest
first), and one refund with its payout attempts and history. Payments owns them; a
payments that does not answer makes the view partial, never an error."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from bitloot_admin.adapters.upstream import NotFound, Unavailable, UpstreamClient
from bitloot_admin.domain.refunds import activity_in_words
from bitloot_admin.domain.views import RefundDetail, RefundPage
from bitloot_admin.handlers.ports import AdminWork, UsesUpstream
from bitloot_admin.handlers.projection import activity_of
from bitloot_contracts.topics import PAYMENTS

# The bus events of an order that tell a refund's story (the admin's projection).
REFUND_TOPICS = ("refund.status_changed", "refund.claim_link_requested", "keys.revoked")


class RefundNotFound(LookupError):
    def __init__(self, refund_id: int) -> None:
        super().__init__(f"Payments knows no refund {refund_id}.")


@dataclass(frozen=True)
class RefundFilter:
    """Refunds wanted: in one status and/or of one order, older than refund `before`."""

    limit: int
    status: str | None = None
    order_id: UUID | None = None
    before: int | None = None

    def params(self) -> dict[str, str | list[str]]:
        values = {
            "limit": str(self.limit),
            "status": self.status,
            "order_id": str(self.order_id) if self.order_id else None,
            "before": str(self.before) if self.before is not None else None,
        }
        return {name: value for name, value in values.items() if value is not None}

    def query(self) -> dict[str, str]:
        """The filter as the admin's own query parameters (for page links)."""
        return {name: str(value) for name, value in self.params().items()}


@dataclass
class RefundList:
    items: RefundPage = field(default_factory=lambda: RefundPage(items=[]))
    partial: list[str] = field(default_factory=list)


class ListRefunds(UsesUpstream):
    """A page of payments' refunds, newest first."""

    async def __call__(self, wanted: RefundFilter) -> RefundList:
        page = await self._upstream.get(PAYMENTS, "/internal/refunds", RefundPage, wanted.params())
        if isinstance(page, RefundPage):
            return RefundList(page)
        return RefundList(partial=[PAYMENTS])


@dataclass(frozen=True)
class Happened:
    """One bus event of the refund's order, from the admin's projection."""

    at: datetime
    what: str


@dataclass
class RefundView:
    """The refund, None if payments did not answer (then named in `partial`), and what
    the bus said about its order's refunds."""

    refund: RefundDetail | None
    events: list[Happened] = field(default_factory=list)
    partial: list[str] = field(default_factory=list)


class ShowRefund:
    """Payments' refund `refund_id` with its payouts; `RefundNotFound` if it has none."""

    def __init__(self, upstream: UpstreamClient, work: Callable[[], AdminWork]) -> None:
        self._upstream = upstream
        self._work = work

    async def __call__(self, refund_id: int) -> RefundView:
        path = f"/internal/refunds/{refund_id}"
        answer = await self._upstream.get(PAYMENTS, path, RefundDetail)
        if isinstance(answer, NotFound):
            raise RefundNotFound(refund_id)
        if isinstance(answer, Unavailable):
            return RefundView(None, partial=[PAYMENTS])
        recorded = await activity_of(self._work, answer.order_id)
        events = [
            Happened(row.at, activity_in_words(row.topic, row.status))
            for row in recorded
            if row.topic in REFUND_TOPICS
        ]
        return RefundView(answer, events)
