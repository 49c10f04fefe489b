"""Wires the fulfillment service together from its settings; nothing is built at import."""

from faststream.rabbit import RabbitBroker
from starlette.applications import Starlette

from bitloot_contracts.topics import FULFILLMENT
from bitloot_fulfillment.adapters.live import live_hub
from bitloot_fulfillment.adapters.orm import metadata
from bitloot_fulfillment.entrypoints.bus import subscribe
from bitloot_fulfillment.entrypoints.internal import internal_routes
from bitloot_fulfillment.entrypoints.internal_stats import stats_routes
from bitloot_fulfillment.entrypoints.live import Viewers, live_routes
from bitloot_fulfillment.entrypoints.openapi import describe
from bitloot_fulfillment.handlers.timers import timer_sweeper
from bitloot_fulfillment.metrics import FulfillmentMetrics
from bitloot_fulfillment.migrations import VERSIONS
from bitloot_fulfillment.settings import Settings
from bitloot_runtime.app import create_app, edge_tokens
from bitloot_runtime.openapi import openapi_routes
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.settings import load_settings
from bitloot_runtime.tokens import AdminTokenVerifier, OrderTokenVerifier


def build(
    settings: Settings | None = None, *, in_memory_broker: RabbitBroker | None = None
) -> tuple[ServiceRuntime, Starlette]:
    """The service's runtime and its HTTP app, from `settings` or the environment; on
    `in_memory_broker` when given (the one-process demo)."""
    settings = settings or load_settings(Settings)
    runtime = ServiceRuntime(
        service=FULFILLMENT,
        settings=settings,
        metadata=metadata,
        version_locations=[VERSIONS],
        in_memory_broker=in_memory_broker,
    )
    FulfillmentMetrics(runtime.metrics.source).watch(runtime)
    policy = settings.timer_policy()
    subscribe(runtime, policy)
    hub = live_hub(runtime)

    runtime.add_worker(
        timer_sweeper(
            runtime.unit_of_work, policy, settings.timer_sweep_interval, settings.timer_batch_size
        )
    )
    admin_keys = settings.admin_keys()
    viewers = Viewers(
        orders=OrderTokenVerifier(settings.order_keys()),
        admins=AdminTokenVerifier(admin_keys) if admin_keys else None,
    )
    routes = [
        *internal_routes(runtime, policy),
        *stats_routes(runtime, policy),
        *live_routes(runtime, hub, viewers, settings.ws_heartbeat_seconds),
        *openapi_routes(describe()),
    ]
    app = create_app(runtime, routes, internal_tokens=edge_tokens(settings))
    app.state.live_hub = hub
    return runtime, app
