"""What the fulfillment endpoints depend on (`Edge`, built by `bootstrap` and read from
the app state with `bitloot_runtime.app.dependencies`), and who may watch an order."""

from dataclasses import dataclass
from uuid import UUID

from bitloot_fulfillment.adapters.live import StatusHub
from bitloot_fulfillment.domain.timers import TimerPolicy
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
    """The runtime (its units of work and sessions), the timer policy, the live hub, the
    viewers' verifiers and the sockets' heartbeat interval (seconds)."""

    runtime: ServiceRuntime
    policy: TimerPolicy
    hub: StatusHub
    viewers: Viewers
    heartbeat: float
