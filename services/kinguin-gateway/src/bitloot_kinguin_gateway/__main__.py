"""`python -m bitloot_kinguin_gateway`: run the kinguin-gateway service until SIGTERM;
`python -m bitloot_kinguin_gateway retention [--dry-run]`: sweep the webhook log now
(handlers.retention)."""

import sys

from bitloot_contracts.topics import KINGUIN_GATEWAY
from bitloot_kinguin_gateway.adapters.orm import metadata
from bitloot_kinguin_gateway.bootstrap import build
from bitloot_kinguin_gateway.handlers.retention import webhook_log_sweep
from bitloot_kinguin_gateway.migrations import VERSIONS
from bitloot_kinguin_gateway.settings import Settings
from bitloot_runtime import retention
from bitloot_runtime.app import run


def main() -> None:
    if len(sys.argv) > 1:
        raise SystemExit(
            retention.main(
                sys.argv[1:],
                service="kinguin_gateway",
                settings_class=Settings,
                metadata=metadata,
                versions=[VERSIONS],
                build=webhook_log_sweep,
            )
        )
    run(KINGUIN_GATEWAY, build)


if __name__ == "__main__":
    main()
