"""What the gateway's endpoints depend on (`Edge`, built by `bootstrap` and read from the
app state with `bitloot_runtime.app.dependencies`), and how the gateway answers its
exceptions (`REFUSALS`, registered by `create_app`)."""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from bitloot_kinguin_gateway.adapters.kinguin import KinguinClient
from bitloot_kinguin_gateway.adapters.kinguin_errors import KinguinAccessDenied, KinguinRefused
from bitloot_kinguin_gateway.adapters.unit_of_work import GatewayUnitOfWork
from bitloot_kinguin_gateway.domain.balance import BalanceStatus
from bitloot_kinguin_gateway.entrypoints.webhook_auth import WebhookAuth
from bitloot_kinguin_gateway.handlers.webhooks import NotReplayable
from bitloot_kinguin_gateway.metrics import GatewayMetrics
from bitloot_runtime.errors import TransientError
from bitloot_runtime.http import Refusal


@dataclass(frozen=True)
class Edge:
    """Units of work, the Kinguin client (live status), the webhooks' authentication and
    counters, and the balance as last read (with how often it is read, in seconds)."""

    # The real one: the listings read through its repositories' search methods too.
    unit_of_work: Callable[[], GatewayUnitOfWork]
    kinguin: KinguinClient
    auth: WebhookAuth
    metrics: GatewayMetrics | None
    balance: Callable[[], BalanceStatus]
    balance_poll_seconds: float


REFUSALS = {
    NotReplayable: Refusal(409),
    KinguinAccessDenied: Refusal(502, log="kinguin rejected our API key", level=logging.ERROR),
    KinguinRefused: Refusal(502),
    # Only the live status calls Kinguin while a request waits.
    TransientError: Refusal(503, "kinguin_unavailable", log="kinguin status unavailable"),
}
