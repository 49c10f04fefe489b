"""Wires the admin service together from its settings; nothing is built at import."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from faststream.rabbit import RabbitBroker
from starlette.applications import Starlette

from bitloot_admin.adapters.orm import metadata
from bitloot_admin.adapters.unit_of_work import AdminUnitOfWork
from bitloot_admin.adapters.upstream import UpstreamClient
from bitloot_admin.entrypoints import web
from bitloot_admin.entrypoints.bus import subscribe
from bitloot_admin.entrypoints.context import AdminWeb, templates
from bitloot_admin.entrypoints.session import SessionTokens
from bitloot_admin.handlers.accounts import EnsureInitialAdmin, LoginLimits
from bitloot_admin.handlers.hand_delivery import DeliverByHand, DeliveryKey
from bitloot_admin.handlers.health import Bus
from bitloot_admin.handlers.repairs import ListDeadLetters, ReplayDeadLetter
from bitloot_admin.handlers.retention import audit_sweep
from bitloot_admin.migrations import VERSIONS
from bitloot_admin.settings import Settings
from bitloot_contracts.topics import ADMIN, DELIVERY, FULFILLMENT, KINGUIN_GATEWAY, PAYMENTS
from bitloot_runtime.app import create_app, edge_tokens
from bitloot_runtime.logging import register_secret
from bitloot_runtime.retention import sweeper
from bitloot_runtime.sealing import load_public_key
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.settings import load_settings
from bitloot_runtime.tokens import load_private_key

logger = logging.getLogger(__name__)


def build(
    settings: Settings | None = None,
    *,
    in_memory_broker: RabbitBroker | None = None,
    upstream_transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[ServiceRuntime, Starlette]:
    """The service's runtime and its HTTP app, from `settings` or the environment; on
    `in_memory_broker` when given (the one-process demo). `upstream_transport` replaces
    the network under the client of the other services (the demo may serve them
    in-process)."""
    settings = settings or load_settings(Settings)
    _register_secrets(settings)
    runtime = ServiceRuntime(
        service=ADMIN,
        settings=settings,
        metadata=metadata,
        version_locations=[VERSIONS],
        in_memory_broker=in_memory_broker,
        unit_of_work_class=AdminUnitOfWork,
    )
    subscribe(runtime)
    sweep = audit_sweep(settings, runtime.unit_of_work)
    runtime.add_worker(sweeper(sweep.sweep, settings.retention_sweep_seconds))
    upstream = UpstreamClient(
        {
            PAYMENTS: settings.payments_url,
            KINGUIN_GATEWAY: settings.kinguin_gateway_url,
            FULFILLMENT: settings.fulfillment_url,
            DELIVERY: settings.delivery_url,
        },
        token=settings.internal_token.get_secret_value(),
        timeout=settings.upstream_timeout,
        transport=upstream_transport,
    )
    admin_web = _admin_web(settings, runtime, upstream)
    app = create_app(runtime, web.routes(admin_web), internal_tokens=edge_tokens(settings))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with runtime.lifespan(app):
            await _create_initial_admin(runtime, settings)
            await upstream.start()
            try:
                yield
            finally:
                await upstream.close()

    # The runtime's lifespan (migrate, consume, relay) with the admin's own start and stop.
    app.router.lifespan_context = lifespan
    return runtime, app


def _admin_web(settings: Settings, runtime: ServiceRuntime, upstream: UpstreamClient) -> AdminWeb:
    tokens = SessionTokens(
        settings.session_key_id,
        load_private_key(settings.session_private_key.get_secret_value()),
        timedelta(minutes=settings.session_ttl_minutes),
    )
    work = runtime.units_of_work(AdminUnitOfWork)
    return AdminWeb(
        work,
        upstream,
        tokens,
        templates(),
        LoginLimits(settings.login_attempts, timedelta(seconds=settings.login_window_seconds)),
        ListDeadLetters(upstream, runtime.dead_letters),
        ReplayDeadLetter(upstream, work, runtime.dead_letters, runtime.publisher),
        # The in-memory broker (the one-process demo) has no queues to ask about.
        Bus(None if runtime.in_memory else settings.amqp_url, runtime.topology),
        settings.upstream_timeout,
        DeliverByHand(upstream, work, _delivery_key(settings)),
        runtime.idempotency,
    )


def _delivery_key(settings: Settings) -> DeliveryKey | None:
    if settings.delivery_public_key is None:
        return None
    return DeliveryKey(load_public_key(settings.delivery_public_key), settings.delivery_key_id)


def _register_secrets(settings: Settings) -> None:
    register_secret(settings.session_private_key.get_secret_value())
    if settings.initial_password is not None:
        register_secret(settings.initial_password.get_secret_value())
    if settings.initial_totp_secret is not None:
        register_secret(settings.initial_totp_secret.get_secret_value())


async def _create_initial_admin(runtime: ServiceRuntime, settings: Settings) -> None:
    if settings.initial_username and settings.initial_password is not None:
        await EnsureInitialAdmin(runtime.units_of_work(AdminUnitOfWork))(
            settings.initial_username,
            settings.initial_password.get_secret_value(),
            totp_secret(settings),
        )


def totp_secret(settings: Settings) -> str | None:
    secret = settings.initial_totp_secret
    return secret.get_secret_value().upper() if secret is not None else None
