"""``python -m bitloot_sandbox_nowpayments``: serve the sandbox configured from the environment."""

import logging

import uvicorn

from bitloot_sandbox_nowpayments.app import create_app
from bitloot_sandbox_nowpayments.config import NowPaymentsSandboxConfig


def main() -> None:
    """Serve on ``NOWPAYMENTS_SANDBOX_HOST:NOWPAYMENTS_SANDBOX_PORT`` until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = NowPaymentsSandboxConfig.from_env()
    uvicorn.run(create_app(config), host=config.host, port=config.port, log_level="info")


if __name__ == "__main__":
    main()
