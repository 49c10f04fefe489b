"""Watching the Kinguin balance: read `GET /v1/balance` every period, keep the last
reading in memory for `/internal/balance` and the metrics, warn once when it falls below
the threshold.

Each gateway instance reads on its own (one call a period each); nothing is stored or
published. A read that fails is logged and tried again the next period; it never stops
the loop, and the last good reading stays, marked stale.
"""

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

from bitloot_kinguin_gateway.adapters.kinguin import KinguinClient
from bitloot_kinguin_gateway.adapters.kinguin_errors import KinguinAccessDenied
from bitloot_kinguin_gateway.domain.balance import BalanceStatus, Crossing, failed, read
from bitloot_kinguin_gateway.metrics import GatewayMetrics
from bitloot_runtime.errors import PermanentError, TransientError
from bitloot_runtime.worker import Worker

logger = logging.getLogger(__name__)

UNAVAILABLE = "kinguin_unavailable"
READ_FAILED = "balance_read_failed"


def _now() -> datetime:
    return datetime.now(UTC)


class BalanceWatch:
    """Reads the balance every `interval` seconds and marks it low under `threshold` (EUR)."""

    def __init__(
        self,
        kinguin: KinguinClient,
        threshold: Decimal,
        interval: float,
        metrics: GatewayMetrics,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._kinguin = kinguin
        self._metrics = metrics
        self._clock = clock
        self._status = BalanceStatus(threshold)
        self.worker = Worker("balance-watch", self.read_once, interval=interval)

    @property
    def status(self) -> BalanceStatus:
        """The last reading, and the last attempt's error if it failed."""
        return self._status

    async def run(self) -> None:
        """Read now, then every `interval` seconds, until cancelled."""
        await self.worker.run()

    async def read_once(self) -> BalanceStatus:
        """Ask Kinguin for the balance once; a failure is recorded, never raised."""
        try:
            balance = await self._kinguin.balance()
        except Exception as exc:
            self._failed(exc)
            return self._status
        self._status, crossing = read(self._status, balance, self._clock())
        self._metrics.balance_reads.labels(outcome="ok").inc()
        if crossing is not None:
            self._log(crossing)
        return self._status

    def _failed(self, exc: Exception) -> None:
        self._metrics.balance_reads.labels(outcome="failed").inc()
        code = _code(exc)
        self._status = failed(self._status, code, str(exc), self._clock())
        extra = {"error": code, "detail": str(exc), "stale": self._status.stale}
        if isinstance(exc, KinguinAccessDenied):
            logger.error("kinguin balance not read: our API key is refused", extra=extra)
        elif isinstance(exc, PermanentError | TransientError):
            logger.warning("kinguin balance not read; trying again next period", extra=extra)
        else:
            logger.exception("kinguin balance not read; trying again next period", extra=extra)

    def _log(self, crossing: Crossing) -> None:
        extra = {
            "balance_eur": str(self._status.balance),
            "threshold_eur": str(self._status.threshold),
        }
        if crossing is Crossing.FELL_BELOW:
            logger.warning(
                "kinguin balance below the threshold: top it up before orders fail "
                "with insufficient balance",
                extra=extra,
            )
        else:
            logger.info("kinguin balance back above the threshold", extra=extra)


def _code(exc: Exception) -> str:
    if isinstance(exc, PermanentError):
        return exc.code
    if isinstance(exc, TransientError):
        return UNAVAILABLE
    return READ_FAILED
