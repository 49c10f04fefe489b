"""`python -m bitloot_admin`: run the admin service until SIGTERM;
`python -m bitloot_admin create-admin <username>`: create an admin (see entrypoints.cli);
`python -m bitloot_admin retention [--dry-run]`: sweep the audit now (handlers.retention)."""

import sys

from bitloot_admin.adapters.orm import metadata
from bitloot_admin.bootstrap import build
from bitloot_admin.entrypoints import cli
from bitloot_admin.handlers.retention import audit_sweep
from bitloot_admin.migrations import VERSIONS
from bitloot_admin.settings import Settings
from bitloot_contracts.topics import ADMIN
from bitloot_runtime.app import run_or_sweep


def main() -> None:
    if sys.argv[1:2] not in ([], ["retention"]):
        raise SystemExit(cli.main(sys.argv[1:]))
    run_or_sweep(ADMIN, build, Settings, metadata, VERSIONS, audit_sweep)


if __name__ == "__main__":
    main()
