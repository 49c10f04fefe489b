"""`python -m bitloot_fulfillment`: run the fulfillment service until SIGTERM."""

from bitloot_contracts.topics import FULFILLMENT
from bitloot_fulfillment.bootstrap import build
from bitloot_runtime.app import run


def main() -> None:
    run(FULFILLMENT, build)


if __name__ == "__main__":
    main()
