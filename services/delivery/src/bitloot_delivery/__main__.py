"""`python -m bitloot_delivery`: run the delivery service until SIGTERM;
`python -m bitloot_delivery rewrap|retention …`: operator commands (see entrypoints.cli)."""

import sys

from bitloot_contracts.topics import DELIVERY
from bitloot_delivery.bootstrap import build
from bitloot_delivery.entrypoints import cli
from bitloot_runtime.app import run


def main() -> None:
    if len(sys.argv) > 1:
        raise SystemExit(cli.main(sys.argv[1:]))
    run(DELIVERY, build)


if __name__ == "__main__":
    main()
