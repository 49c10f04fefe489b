"""`python -m bitloot_payments`: run the payments service until SIGTERM;
`python -m bitloot_payments retention [--dry-run]`: sweep the IPN logs now
(handlers.retention)."""

from bitloot_contracts.topics import PAYMENTS
from bitloot_payments.adapters.orm import metadata
from bitloot_payments.bootstrap import build
from bitloot_payments.handlers.retention import ipn_log_sweep
from bitloot_payments.migrations import VERSIONS
from bitloot_payments.settings import Settings
from bitloot_runtime.app import run_or_sweep


def main() -> None:
    run_or_sweep(PAYMENTS, build, Settings, metadata, VERSIONS, ipn_log_sweep)


if __name__ == "__main__":
    main()
