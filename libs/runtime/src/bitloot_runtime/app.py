"""The HTTP app and the process entry point every service shares."""

import logging
import sys
from collections.abc import Callable, Sequence

import uvicorn
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from bitloot_runtime.errors import ConfigError
from bitloot_runtime.logging import configure_logging
from bitloot_runtime.service import ServiceRuntime

logger = logging.getLogger(__name__)

# How long in-flight requests and messages get to finish after SIGTERM.
GRACEFUL_SHUTDOWN_SECONDS = 20


def create_app(runtime: ServiceRuntime, routes: Sequence[BaseRoute] = ()) -> Starlette:
    """A Starlette app with the service's routes, the health routes, and the runtime's
    start-up and shutdown tied to the server's lifespan."""
    return Starlette(routes=[*runtime.health_routes(), *routes], lifespan=runtime.lifespan)


def run(service: str, build: Callable[[], tuple[ServiceRuntime, Starlette]]) -> None:
    """Run a service until SIGTERM/SIGINT; exit 2 with the variable's name on bad settings."""
    configure_logging(service)
    try:
        runtime, app = build()
    except ConfigError as exc:
        print(f"{service}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(service, runtime.settings.log_level)
    uvicorn.run(
        app,
        host=runtime.settings.http_host,
        port=runtime.settings.http_port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    )
