"""`python -m bitloot_kinguin_gateway`: run the kinguin-gateway service until SIGTERM;
`python -m bitloot_kinguin_gateway retention [--dry-run]`: sweep the webhook log now
(handlers.retention)."""

from bitloot_contracts.topics import KINGUIN_GATEWAY
from bitloot_kinguin_gateway.adapters.orm import metadata
from bitloot_kinguin_gateway.bootstrap import build
from bitloot_kinguin_gateway.handlers.retention import webhook_log_sweep
from bitloot_kinguin_gateway.migrations import VERSIONS
from bitloot_kinguin_gateway.settings import Settings
from bitloot_runtime.app import run_or_sweep


def main() -> None:
    run_or_sweep(KINGUIN_GATEWAY, build, Settings, metadata, VERSIONS, webhook_log_sweep)


if __name__ == "__main__":
    main()
