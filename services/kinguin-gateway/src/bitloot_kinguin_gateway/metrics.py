"""What the gateway exports beyond the runtime's metrics, labelled
``service=kinguin-gateway`` like them (`RuntimeMetrics.source`)."""

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

from bitloot_kinguin_gateway.domain.balance import BalanceStatus

BALANCE = "bitloot_kinguin_balance_eur"
LOW = "bitloot_kinguin_balance_low"
READ_AT = "bitloot_kinguin_balance_read_timestamp_seconds"
THRESHOLD = "bitloot_kinguin_balance_threshold_eur"


class GatewayMetrics:
    """- ``balance_reads`` (outcome): reads of the Kinguin balance, ``ok`` or ``failed``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.balance_reads = Counter(
            "bitloot_kinguin_balance_reads",
            "Reads of the Kinguin balance, by outcome (ok or failed).",
            ["outcome"],
            registry=registry,
        )


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
