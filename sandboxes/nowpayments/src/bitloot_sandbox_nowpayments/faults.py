"""NOWPayments' faults: the common ones, API calls that answer late, and lost IPNs."""

from dataclasses import dataclass

from bitloot_sandbox_common.faults import Faults


@dataclass
class NowPaymentsFaults(Faults):
    """The common faults, and:

    - `slow_next` API calls wait `slow_ms` milliseconds before they are handled (and then
      succeed): a client that gives up first has timed out on a request NOWPayments still
      carries out.
    - the next `drop_ipns` IPNs, or every IPN while `drop_all_ipns` is on, are never sent
      (the ledger records them as dropped) while the payment still moves on: the merchant
      learns the truth only by asking (``GET /v1/payment/...``), as when IPNs are lost.
    - the next `hold_payouts` payouts are created at once, then the answer to their
      ``POST /v1/payout`` waits `hold_ms` milliseconds: a client killed or timed out
      meanwhile never learns its payout was created.
    """

    slow_next: int = 0
    slow_ms: int = 0
    drop_ipns: int = 0
    drop_all_ipns: bool = False
    hold_payouts: int = 0
    hold_ms: int = 0

    def take_delay(self) -> float:
        """Seconds the current API call must wait first (0: none)."""
        if self.slow_next > 0 and self.slow_ms > 0:
            self.slow_next -= 1
            return self.slow_ms / 1000
        return 0.0

    def take_hold(self) -> float:
        """Seconds the answer to the payout just created must wait."""
        if self.hold_payouts > 0 and self.hold_ms > 0:
            self.hold_payouts -= 1
            return self.hold_ms / 1000
        return 0.0

    def take_drop(self) -> bool:
        """Whether the IPN about to be sent must be dropped."""
        if self.drop_all_ipns:
            return True
        if self.drop_ipns > 0:
            self.drop_ipns -= 1
            return True
        return False
