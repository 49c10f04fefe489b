"""NOWPayments' faults: the common ones, and API calls that answer late."""

from dataclasses import dataclass

from bitloot_sandbox_common.faults import Faults


@dataclass
class NowPaymentsFaults(Faults):
    """The common faults, and `slow_next` API calls that wait `slow_ms` milliseconds
    before they are handled (and then succeed): a client that gives up first has timed
    out on a request NOWPayments still carries out."""

    slow_next: int = 0
    slow_ms: int = 0

    def take_delay(self) -> float:
        """Seconds the current API call must wait first (0: none)."""
        if self.slow_next > 0 and self.slow_ms > 0:
            self.slow_next -= 1
            return self.slow_ms / 1000
        return 0.0
