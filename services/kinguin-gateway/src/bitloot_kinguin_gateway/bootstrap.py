"""Wires the kinguin-gateway service together from its settings; nothing is built at import."""

import functools
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
from faststream.rabbit import RabbitBroker
from starlette.applications import Starlette

from bitloot_contracts.topics import KINGUIN_GATEWAY
from bitloot_kinguin_gateway.adapters.kinguin import KinguinClient
from bitloot_kinguin_gateway.adapters.orm import metadata
from bitloot_kinguin_gateway.adapters.rate_limit import (
    Gcra,
    SharedLimiter,
    bucket_name,
    default_burst,
)
from bitloot_kinguin_gateway.adapters.unit_of_work import GatewayUnitOfWork
from bitloot_kinguin_gateway.entrypoints import internal, internal_balance, internal_webhooks
from bitloot_kinguin_gateway.entrypoints import webhooks as webhook_edge
from bitloot_kinguin_gateway.entrypoints.bus import subscribe
from bitloot_kinguin_gateway.entrypoints.edge import REFUSALS, Edge
from bitloot_kinguin_gateway.entrypoints.openapi import describe
from bitloot_kinguin_gateway.entrypoints.webhook_auth import WebhookAuth
from bitloot_kinguin_gateway.handlers.balance import BalanceWatch
from bitloot_kinguin_gateway.handlers.catalog import CatalogSync
from bitloot_kinguin_gateway.handlers.key_returns import ReturnKeys
from bitloot_kinguin_gateway.handlers.keys import FetchKeys
from bitloot_kinguin_gateway.handlers.polling import Poll
from bitloot_kinguin_gateway.handlers.reservations import Reserve
from bitloot_kinguin_gateway.handlers.retention import webhook_log_sweep
from bitloot_kinguin_gateway.metrics import BalanceGauges, GatewayMetrics
from bitloot_kinguin_gateway.migrations import VERSIONS
from bitloot_kinguin_gateway.settings import Settings
from bitloot_runtime.app import create_app, edge_tokens
from bitloot_runtime.db import asyncpg_dsn
from bitloot_runtime.logging import register_secret
from bitloot_runtime.outbound import MeteredTransport
from bitloot_runtime.retention import sweeper
from bitloot_runtime.sealing import load_public_key
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.settings import load_settings
from bitloot_runtime.signatures import secrets_in_rotation

# Kinguin answers in well under a second; a stuck call must not hold a consumer for long.
CONNECT_TIMEOUT = 5.0


def build(
    settings: Settings | None = None, *, in_memory_broker: RabbitBroker | None = None
) -> tuple[ServiceRuntime, Starlette]:
    """The service's runtime and its HTTP app, from `settings` or the environment; on
    `in_memory_broker` when given (the one-process demo)."""
    settings = settings or load_settings(Settings)
    secrets = _register_secrets(settings)
    runtime = ServiceRuntime(
        service=KINGUIN_GATEWAY,
        settings=settings,
        metadata=metadata,
        version_locations=[VERSIONS],
        in_memory_broker=in_memory_broker,
        unit_of_work_class=GatewayUnitOfWork,
    )
    units_of_work = runtime.units_of_work(GatewayUnitOfWork)
    # httpx logs every request at INFO: four lines per order beside the handler's own
    # line (which carries the order id); a failed call is logged by the handler.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Created here, used only once the runtime starts; closed when it stops.
    timeout = httpx.Timeout(settings.kinguin_timeout, connect=CONNECT_TIMEOUT)
    http = httpx.AsyncClient(
        transport=MeteredTransport("kinguin", runtime.metrics.outbound), timeout=timeout
    )
    limiter = _rate_limit(settings)
    kinguin = KinguinClient(
        settings.kinguin_api_url,
        settings.kinguin_api_key.get_secret_value(),
        http,
        limiter=limiter,
        deadline=settings.kinguin_timeout,
    )
    subscribe(
        runtime,
        Reserve(
            kinguin,
            units_of_work,
            # A catalog price is trusted through one late reading of the catalog sync.
            price_max_age=2 * settings.catalog_sync_seconds,
            # A purchase is dropped after its deadline; Kinguin gets as long again.
            in_flight=2 * settings.kinguin_timeout,
        ),
        Poll(kinguin),
        FetchKeys(kinguin, load_public_key(settings.delivery_public_key), settings.delivery_key_id),
        ReturnKeys(kinguin, units_of_work),
    )
    metrics = GatewayMetrics(runtime.metrics.source)
    metrics.watch(runtime)
    watch = _balance_watch(settings, runtime, kinguin, metrics)
    sync = CatalogSync(kinguin, units_of_work, settings.catalog_sync_seconds)
    runtime.add_worker(sync.worker)
    sweep = webhook_log_sweep(settings, runtime.unit_of_work)
    runtime.add_worker(sweeper(sweep.sweep, settings.retention_sweep_seconds))
    edge = Edge(
        unit_of_work=units_of_work,
        kinguin=kinguin,
        auth=WebhookAuth(settings.webhook_auth, secrets, settings.webhook_secret_header),
        metrics=metrics,
        balance=lambda: watch.status,
        balance_poll_seconds=settings.balance_poll_seconds,
    )
    routes = [
        *webhook_edge.ROUTES,
        *internal.ROUTES,
        *internal_webhooks.ROUTES,
        *internal_balance.ROUTES,
    ]
    app = create_app(
        runtime,
        routes,
        internal_tokens=edge_tokens(settings),
        refusals=REFUSALS,
        dependencies=edge,
        openapi=functools.partial(describe, secret_header=settings.webhook_secret_header),
    )
    app.router.lifespan_context = _closing(runtime, http, limiter)
    return runtime, app


def _rate_limit(settings: Settings) -> SharedLimiter:
    """Kinguin's limit per API key, shared by every replica through the database."""
    per_minute = settings.kinguin_rate_limit_per_minute
    burst = settings.kinguin_rate_limit_burst or default_burst(per_minute)
    api_key = settings.kinguin_api_key.get_secret_value()
    return SharedLimiter(
        Gcra(per_minute, burst), asyncpg_dsn(settings.database_url), bucket_name(api_key)
    )


def _balance_watch(
    settings: Settings, runtime: ServiceRuntime, kinguin: KinguinClient, metrics: GatewayMetrics
) -> BalanceWatch:
    """The balance reader, run beside the consumers, its reading exported as gauges."""
    watch = BalanceWatch(kinguin, settings.balance_low, settings.balance_poll_seconds, metrics)
    runtime.metrics.source.register(BalanceGauges(lambda: watch.status))
    runtime.add_worker(watch.worker)
    return watch


def _register_secrets(settings: Settings) -> tuple[str, ...]:
    register_secret(settings.kinguin_api_key.get_secret_value())
    previous = settings.webhook_secret_previous
    secrets = secrets_in_rotation(
        settings.webhook_secret.get_secret_value(),
        previous.get_secret_value() if previous else None,
    )
    for secret in secrets:
        register_secret(secret)
    return secrets


def _closing(
    runtime: ServiceRuntime, http: httpx.AsyncClient, limiter: SharedLimiter
) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """The runtime's lifespan, then closing the Kinguin HTTP client and the rate limit's
    connections."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            async with runtime.lifespan(app):
                yield
        finally:
            await http.aclose()
            await limiter.close()

    return lifespan
