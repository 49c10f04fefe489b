"""`python -m bitloot_admin`: run the admin service until SIGTERM."""

from bitloot_admin.bootstrap import build
from bitloot_contracts.topics import ADMIN
from bitloot_runtime.app import run


def main() -> None:
    run(ADMIN, build)


if __name__ == "__main__":
    main()
