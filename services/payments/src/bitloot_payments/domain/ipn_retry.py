"""How an IPN that failed to apply is retried, and when it is given up (pure: no I/O).

NOWPayments has had its 200 by the time an IPN is applied, and will not send it again:
a failure must never lose it. Every failed attempt is retried after a growing delay; a
transient one (the database or network failing for a moment) never counts towards giving
up, and only the same defect, attempt after attempt, does.
"""

import random
from dataclasses import dataclass

DEFECT = "defect: "
TRANSIENT = "transient: "


@dataclass(frozen=True)
class IpnRetry:
    """How failed IPNs are retried: after `first_delay` seconds, doubling up to
    `max_delay` (half of it random, so instances retrying together spread out); a defect
    repeated `max_attempts` times in a row gives the IPN up."""

    max_attempts: int = 5
    first_delay: float = 1.0
    max_delay: float = 60.0

    def delay(self, retries: int) -> float:
        """Seconds before the attempt after `retries` failed ones (1-based)."""
        ceiling = min(self.max_delay, self.first_delay * 2.0 ** max(0, retries - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def defects_after(previous_error: str | None, defects: int, error: str) -> int:
    """How many attempts in a row have now failed with the defect `error`: one more if
    the previous attempt failed the same way, else this is the first."""
    return defects + 1 if previous_error == DEFECT + error else 1
