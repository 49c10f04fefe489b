"""What the gateway exports beyond the runtime's metrics, labelled
``service=kinguin-gateway`` like them (`RuntimeMetrics.source`)."""

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from bitloot_contracts import topics
from bitloot_kinguin_gateway.domain.balance import BalanceStatus
from bitloot_runtime.service import ServiceRuntime

BALANCE = "bitloot_kinguin_balance_eur"
LOW = "bitloot_kinguin_balance_low"
READ_AT = "bitloot_kinguin_balance_read_timestamp_seconds"
THRESHOLD = "bitloot_kinguin_balance_threshold_eur"


class GatewayMetrics:
    """- ``balance_reads`` (outcome): reads of the Kinguin balance, ``ok`` or ``failed``.
    - ``webhooks`` (event, outcome): Kinguin's webhook calls once logged; event is
      ``order.status``, ``product.update`` or ``other``; outcome ``accepted``,
      ``duplicate`` (a copy, not applied), ``unauthenticated`` or ``invalid``.
    - ``kinguin_orders`` (outcome): reservations settled at Kinguin as their step
      commits: ``placed`` (an order bought or found again) or ``refused``.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.webhooks = Counter(
            "bitloot_kinguin_webhooks",
            "Kinguin webhook calls, by event and outcome.",
            ["event", "outcome"],
            registry=registry,
        )
        # Exported at 0 from the start, so an alert sees a restarted instance's first refusal.
        for event in ("order.status", "product.update", "other"):
            self.webhooks.labels(event=event, outcome="unauthenticated")
        self.kinguin_orders = Counter(
            "bitloot_kinguin_orders",
            "Reservations settled at Kinguin, by outcome (placed or refused).",
            ["outcome"],
            registry=registry,
        )
        self.balance_reads = Counter(
            "bitloot_kinguin_balance_reads",
            "Reads of the Kinguin balance, by outcome (ok or failed).",
            ["outcome"],
            registry=registry,
        )

    def watch(self, runtime: ServiceRuntime) -> None:
        """Count the reservations settled as their units of work commit."""
        placed, refused = (self.kinguin_orders.labels(outcome=o) for o in ("placed", "refused"))
        runtime.on_event(topics.RESERVATION_CREATED, lambda _event: placed.inc())
        runtime.on_event(topics.RESERVATION_FAILED, lambda _event: refused.inc())


class BalanceGauges:
    """The balance as last read, exposed only once it has been read: a balance of 0
    before the first reading would look like an empty account.

    - ``bitloot_kinguin_balance_eur``: the last balance read (EUR);
    - ``bitloot_kinguin_balance_low``: 1 while it is below the threshold, else 0;
    - ``bitloot_kinguin_balance_read_timestamp_seconds``: when it was read (Unix time;
      an old one means the reads are failing);
    - ``bitloot_kinguin_balance_threshold_eur``: KINGUIN_GATEWAY_BALANCE_LOW, always.
    """

    def __init__(self, status: Callable[[], BalanceStatus]) -> None:
        self._status = status

    def collect(self) -> Iterator[Metric]:
        status = self._status()
        yield GaugeMetricFamily(
            THRESHOLD, "Balance (EUR) below which it is low.", value=float(status.threshold)
        )
        if status.balance is None or status.read_at is None:
            return
        yield GaugeMetricFamily(
            BALANCE, "Kinguin balance (EUR) as last read.", value=float(status.balance)
        )
        low = float(bool(status.low))
        yield GaugeMetricFamily(
            LOW, "1 while the Kinguin balance is below the threshold.", value=low
        )
        yield GaugeMetricFamily(
            READ_AT, "When the Kinguin balance was last read.", value=status.read_at.timestamp()
        )

    def describe(self) -> Iterator[Metric]:
        for name in (THRESHOLD, BALANCE, LOW, READ_AT):
            yield GaugeMetricFamily(name, "", value=0.0)
