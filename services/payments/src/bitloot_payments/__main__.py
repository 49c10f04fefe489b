"""`python -m bitloot_payments`: run the payments service until SIGTERM;
`python -m bitloot_payments retention [--dry-run]`: sweep the IPN logs now
(handlers.retention)."""

import sys

from bitloot_contracts.topics import PAYMENTS
from bitloot_payments.adapters.orm import metadata
from bitloot_payments.bootstrap import build
from bitloot_payments.handlers.retention import ipn_log_sweep
from bitloot_payments.migrations import VERSIONS
from bitloot_payments.settings import Settings
from bitloot_runtime import retention
from bitloot_runtime.app import run


def main() -> None:
    if len(sys.argv) > 1:
        raise SystemExit(
            retention.main(
                sys.argv[1:],
                service="payments",
                settings_class=Settings,
                metadata=metadata,
                versions=[VERSIONS],
                build=ipn_log_sweep,
            )
        )
    run(PAYMENTS, build)


if __name__ == "__main__":
    main()
