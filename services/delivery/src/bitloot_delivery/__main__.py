"""`python -m bitloot_delivery`: run the delivery service until SIGTERM."""

from bitloot_contracts.topics import DELIVERY
from bitloot_delivery.bootstrap import build
from bitloot_runtime.app import run


def main() -> None:
    run(DELIVERY, build)


if __name__ == "__main__":
    main()
