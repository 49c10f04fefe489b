"""The HTTP app and the process entry point every service shares."""

import gc
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import uvicorn
from sqlalchemy import MetaData
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import HTTPConnection
from starlette.routing import BaseRoute
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from bitloot_runtime import retention
from bitloot_runtime.access_log import AccessLogMiddleware
from bitloot_runtime.db import UnitOfWork
from bitloot_runtime.errors import ConfigError
from bitloot_runtime.http import EXCEPTION_HANDLERS, Refusals, refusal_handlers
from bitloot_runtime.http_metrics import HttpMetricsMiddleware
from bitloot_runtime.idempotency import keyed_routes
from bitloot_runtime.internal import DEAD_LETTER_ROUTES, InternalAuthMiddleware, ParkedMessages
from bitloot_runtime.logging import configure_logging, register_secret
from bitloot_runtime.openapi import Schema, openapi_routes
from bitloot_runtime.server import protocol_class
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.settings import EdgeSettings
from bitloot_runtime.telemetry import configure_tracing, enabled, http_middleware

logger = logging.getLogger(__name__)

DependenciesT = TypeVar("DependenciesT")

# How long in-flight requests and messages get to finish after SIGTERM.
GRACEFUL_SHUTDOWN_SECONDS = 20


def create_app(
    runtime: ServiceRuntime,
    routes: Sequence[BaseRoute] = (),
    *,
    internal_tokens: Sequence[str] = (),
    refusals: Refusals | None = None,
    dependencies: object = None,
    openapi: Callable[[Sequence[BaseRoute]], Schema] | None = None,
) -> Starlette:
    """A Starlette app with the service's routes, the health routes, and the runtime's
    start-up and shutdown tied to the server's lifespan; in a span per request when
    tracing is on (`bitloot_runtime.telemetry`).

    Every request is logged once (`AccessLogMiddleware`), its client resolved first
    through the settings' `trusted_proxies`, so that the log, rate limits and audits all
    see the same address. With `internal_tokens`, ``/internal/*`` (the service's own
    internal routes among `routes`, plus its dead letters) is served to callers
    presenting one of them. Every ``POST /internal/*`` (an admin's action) is answered
    once per ``Idempotency-Key`` (`bitloot_runtime.idempotency`).

    `refusals` is the service's exception -> answer table (`bitloot_runtime.http.Refusal`);
    `dependencies` what its module-level endpoints read with `dependencies`; `openapi`
    describes `routes` (`bitloot_runtime.openapi.describe`), served at ``/openapi.json``.
    """
    own: list[BaseRoute] = [
        *runtime.health_routes(),
        *(DEAD_LETTER_ROUTES if internal_tokens else []),
    ]
    if openapi is not None:
        routes = [*routes, *openapi_routes(openapi([*own, *routes]))]
    # First, so that it also counts the requests the middleware after it refuse.
    middleware = [Middleware(HttpMetricsMiddleware, metrics=runtime.metrics.http)]
    if runtime.settings.trusted_proxies:
        proxies = list(runtime.settings.trusted_proxies)
        middleware.append(Middleware(ProxyHeadersMiddleware, trusted_hosts=proxies))
    if enabled():
        middleware.append(Middleware(http_middleware))
    middleware.append(Middleware(AccessLogMiddleware))
    if internal_tokens:
        middleware.append(Middleware(InternalAuthMiddleware, tokens=internal_tokens))
    app = Starlette(
        routes=keyed_routes(runtime.idempotency, [*own, *routes]),
        middleware=middleware,
        exception_handlers={**refusal_handlers(refusals or {}), **EXCEPTION_HANDLERS},
        lifespan=runtime.lifespan,
    )
    app.state.dependencies = dependencies
    app.state.parked_messages = ParkedMessages(runtime.dead_letters, runtime.publisher)
    return app


def dependencies(connection: HTTPConnection, kind: type[DependenciesT]) -> DependenciesT:
    """What the app serving `connection` (a request or a WebSocket) was created with as
    `dependencies`, checked to be a `kind`: how a module-level endpoint gets its stores,
    clients and settings, ``edge = dependencies(request, Edge)``."""
    found = connection.app.state.dependencies
    if not isinstance(found, kind):
        raise TypeError(f"The app's dependencies are {type(found).__name__}, not {kind.__name__}.")
    return found


def edge_tokens(settings: EdgeSettings) -> list[str]:
    """The internal tokens an edge accepts: current, and previous while rotating."""
    tokens = [settings.internal_token.get_secret_value()]
    if settings.internal_token_previous is not None:
        tokens.append(settings.internal_token_previous.get_secret_value())
    for token in tokens:
        register_secret(token)
    return tokens


def run(service: str, build: Callable[[], tuple[ServiceRuntime, Starlette]]) -> None:
    """Run a service until SIGTERM/SIGINT; exit 2 with the variable's name on bad settings."""
    configure_logging(service)
    configure_tracing(service)
    try:
        runtime, app = build()
    except ConfigError as exc:
        print(f"{service}: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    settings = runtime.settings
    configure_logging(service, settings.log_level)
    # What the build made (modules, models, routes and their OpenAPI document) lives as
    # long as the process. Out of the collector's full passes, which walked all of it
    # each time: in the bench a full pass held a service for 100-700 ms, every message
    # in flight with it (the time-to-key p99). Start-up's garbage is collected first.
    gc.collect()
    gc.freeze()
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
        # Our AccessLogMiddleware logs each request (by route template, never the path),
        # and create_app resolves the client through TRUSTED_PROXIES; uvicorn's own proxy
        # handling would trust X-Forwarded-For from 127.0.0.1 whatever the setting says.
        access_log=False,
        proxy_headers=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        timeout_keep_alive=settings.http_keep_alive_timeout,
        # Named, not "auto": a service must not fall back to the slower loop unnoticed.
        # The HTTP parser is httptools, through a protocol that bounds how long and how
        # large a request's head may be and how many connections are open.
        loop="uvloop",
        http=protocol_class(
            header_timeout=settings.http_header_timeout,
            max_head_bytes=settings.http_max_head_bytes,
            max_connections=settings.http_max_connections,
        ),
    )


def run_or_sweep(
    service: str,
    build_service: Callable[[], tuple[ServiceRuntime, Starlette]],
    settings_class: type[retention.SettingsT],
    metadata: MetaData,
    versions: Path,
    build: Callable[[retention.SettingsT, Callable[[], UnitOfWork]], retention.RetentionSweep],
) -> None:
    """`python -m bitloot_<service>`: run the service until SIGTERM (`run`); with
    arguments, its ``retention [--dry-run]`` command (`bitloot_runtime.retention.main`)."""
    if len(sys.argv) == 1:
        run(service, build_service)
    else:
        name = service.replace("-", "_")
        code = retention.main(
            sys.argv[1:],
            service=name,
            settings_class=settings_class,
            metadata=metadata,
            versions=[versions],
            build=build,
        )
        raise SystemExit(code)
