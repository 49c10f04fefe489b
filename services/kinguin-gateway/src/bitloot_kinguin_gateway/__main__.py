"""`python -m bitloot_kinguin_gateway`: run the kinguin-gateway service until SIGTERM."""

from bitloot_contracts.topics import KINGUIN_GATEWAY
from bitloot_kinguin_gateway.bootstrap import build
from bitloot_runtime.app import run


def main() -> None:
    run(KINGUIN_GATEWAY, build)


if __name__ == "__main__":
    main()
