"""What the fulfillment endpoints depend on (`Edge`, built by `bootstrap` and read from
the app state with `bitloot_runtime.app.dependencies`), who may watch an order, and how
the service answers its exceptions (`REFUSALS`, registered by `create_app`)."""

from dataclasses import dataclass
from uuid import UUID

from bitloot_fulfillment.adapters.live import StatusHub
from bitloot_fulfillment.domain.saga import ManualDeliveryRefused, RetryRefused
from bitloot_fulfillment.domain.timers import TimerPolicy
from bitloot_fulfillment.handlers.manual_delivery import DeliverByHand
from bitloot_fulfillment.handlers.retry import RetryOrder, SagaNotFound
from bitloot_fulfillment.handlers.stats import ReadStats
from bitloot_runtime.http import Refusal
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.tokens import AdminTokenVerifier, InvalidToken, OrderTokenVerifier


@dataclass(frozen=True)
class Viewers:
    """Who may watch an order: its own order token, or any admin session token."""

    orders: OrderTokenVerifier
    admins: AdminTokenVerifier | None

    def check(self, token: str | None, order_id: UUID) -> str:
        """Who is watching (``customer`` or ``admin:<name>``); `InvalidToken` otherwise."""
        try:
            self.orders.verify(token, order_id)
        except InvalidToken as refusal:
            if refusal.code in ("token_missing", "token_wrong_order") or self.admins is None:
                raise
            return f"admin:{self.admins.verify(token)}"
        return "customer"


@dataclass(frozen=True)
class Edge:
    """The runtime (its sessions, for the read-only views), the timer policy, the use
    cases the endpoints run, the live hub, the viewers' verifiers and the sockets'
    heartbeat interval (seconds)."""

    runtime: ServiceRuntime
    policy: TimerPolicy
    retry: RetryOrder
    deliver: DeliverByHand
    read_stats: ReadStats
    hub: StatusHub
    viewers: Viewers
    heartbeat: float


# The refusals that are the request's fault rather than the order's.
_INVALID_HAND_DELIVERY = frozenset({"key_count_mismatch"})

REFUSALS = {
    SagaNotFound: Refusal(404, "order_not_found"),
    RetryRefused: Refusal(409),
    ManualDeliveryRefused: Refusal(lambda exc: 422 if exc.code in _INVALID_HAND_DELIVERY else 409),
}
