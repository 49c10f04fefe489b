"""Reading what the services report about themselves: readiness, outbox gauges, and the
Kinguin balance as the gateway last read it."""

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

from bitloot_admin.domain.views import Upstream

_SAMPLE = re.compile(
    r"^(bitloot_outbox_pending|bitloot_outbox_lag_seconds|bitloot_dead_letters)"
    r"(?:\{[^}]*\})?\s+([-+0-9.eEinfINFaN]+)\s*$",
    re.MULTILINE,
)


@dataclass(frozen=True)
class OutboxGauges:
    """A service's unpublished outbox rows, the age of the oldest, its parked messages."""

    pending: float | None = None
    lag_seconds: float | None = None
    dead_letters: float | None = None


def outbox_gauges(metrics_text: str) -> OutboxGauges:
    """The outbox gauges in a Prometheus text exposition (absent ones stay None, and so do
    NaN and infinite ones: not a count or an age, and JSON has no spelling for them)."""
    values: dict[str, float] = {}
    for name, raw in _SAMPLE.findall(metrics_text):
        try:
            value = float(raw)
        except ValueError:
            continue
        if math.isfinite(value):
            values[name] = value
    return OutboxGauges(
        pending=values.get("bitloot_outbox_pending"),
        lag_seconds=values.get("bitloot_outbox_lag_seconds"),
        dead_letters=values.get("bitloot_dead_letters"),
    )


class GatewayBalance(Upstream):
    """The gateway's ``GET /internal/balance``: the Kinguin balance as last read (EUR)."""

    balance_eur: Decimal | None = None
    low: bool | None = None
    threshold_eur: Decimal
    read_at: datetime | None = None
    stale: bool = False
    error: str | None = None
    detail: str | None = None
    failed_at: datetime | None = None


BalanceState = Literal["ok", "low", "unknown"]
GATEWAY_UNAVAILABLE = "gateway_unavailable"
NOT_READ_YET = "not_read_yet"


@dataclass(frozen=True)
class KinguinBalance:
    """What the Health page says of the Kinguin balance: ``low`` below the gateway's
    threshold, ``unknown`` when the gateway did not answer or never read it (`error`
    says which), else ``ok``. `stale`: the last read failed, the balance is older."""

    state: BalanceState
    balance_eur: Decimal | None = None
    threshold_eur: Decimal | None = None
    read_at: datetime | None = None
    stale: bool = False
    error: str | None = None
    detail: str | None = None
    failed_at: datetime | None = None


def kinguin_balance(answer: GatewayBalance | None) -> KinguinBalance:
    """The balance to show from the gateway's answer, None when it gave none."""
    if answer is None:
        detail = "The kinguin-gateway did not answer."
        return KinguinBalance("unknown", error=GATEWAY_UNAVAILABLE, detail=detail)
    if answer.balance_eur is None:
        return KinguinBalance(
            "unknown",
            threshold_eur=answer.threshold_eur,
            error=answer.error or NOT_READ_YET,
            detail=answer.detail or "The gateway has not read the balance yet.",
            failed_at=_utc(answer.failed_at),
        )
    return KinguinBalance(
        "low" if answer.low else "ok",
        balance_eur=answer.balance_eur,
        threshold_eur=answer.threshold_eur,
        read_at=_utc(answer.read_at),
        stale=answer.stale,
        error=answer.error,
        detail=answer.detail,
        failed_at=_utc(answer.failed_at),
    )


def _utc(moment: datetime | None) -> datetime | None:
    return moment.astimezone(UTC) if moment else None
