"""Reading what the services report about themselves: readiness and outbox gauges."""

import re
from dataclasses import dataclass

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
    """The outbox gauges in a Prometheus text exposition (absent ones stay None)."""
    values: dict[str, float] = {}
    for name, raw in _SAMPLE.findall(metrics_text):
        try:
            values[name] = float(raw)
        except ValueError:
            continue
    return OutboxGauges(
        pending=values.get("bitloot_outbox_pending"),
        lag_seconds=values.get("bitloot_outbox_lag_seconds"),
        dead_letters=values.get("bitloot_dead_letters"),
    )
