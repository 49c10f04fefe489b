"""``python -m bitloot_sandbox_kinguin``: serve the sandbox configured from the environment."""

import logging

import uvicorn

from bitloot_sandbox_kinguin.app import create_app
from bitloot_sandbox_kinguin.config import KinguinSandboxConfig


def main() -> None:
    """Serve on ``KINGUIN_SANDBOX_HOST:KINGUIN_SANDBOX_PORT`` until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = KinguinSandboxConfig.from_env()
    uvicorn.run(create_app(config), host=config.host, port=config.port, log_level="info")


if __name__ == "__main__":
    main()
