"""`python -m bitloot_admin`: run the admin service until SIGTERM;
`python -m bitloot_admin create-admin <username>`: create an admin (see entrypoints.cli)."""

import sys

from bitloot_admin.bootstrap import build
from bitloot_admin.entrypoints import cli
from bitloot_contracts.topics import ADMIN
from bitloot_runtime.app import run


def main() -> None:
    if len(sys.argv) > 1:
        raise SystemExit(cli.main(sys.argv[1:]))
    run(ADMIN, build)


if __name__ == "__main__":
    main()
