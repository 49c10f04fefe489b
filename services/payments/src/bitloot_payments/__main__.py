"""`python -m bitloot_payments`: run the payments service until SIGTERM."""

from bitloot_contracts.topics import PAYMENTS
from bitloot_payments.bootstrap import build
from bitloot_runtime.app import run


def main() -> None:
    run(PAYMENTS, build)


if __name__ == "__main__":
    main()
