"""Wires the fulfillment service together from its settings; nothing is built at import."""

from faststream.rabbit import RabbitBroker
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute

from bitloot_contracts.topics import FULFILLMENT
from bitloot_fulfillment.adapters.live import live_hub
from bitloot_fulfillment.adapters.orm import metadata
from bitloot_fulfillment.adapters.unit_of_work import FulfillmentUnitOfWork
from bitloot_fulfillment.entrypoints import internal, internal_stats
from bitloot_fulfillment.entrypoints.bus import subscribe
from bitloot_fulfillment.entrypoints.edge import REFUSALS, Edge, Viewers
from bitloot_fulfillment.entrypoints.live import order_status
from bitloot_fulfillment.entrypoints.openapi import describe
from bitloot_fulfillment.handlers.manual_delivery import DeliverByHand
from bitloot_fulfillment.handlers.retry import RetryOrder
from bitloot_fulfillment.handlers.stats import ReadStats
from bitloot_fulfillment.handlers.timers import timer_sweeper
from bitloot_fulfillment.metrics import FulfillmentMetrics
from bitloot_fulfillment.migrations import VERSIONS
from bitloot_fulfillment.settings import Settings
from bitloot_runtime.app import create_app, edge_tokens
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
        unit_of_work_class=FulfillmentUnitOfWork,
    )
    units_of_work = runtime.units_of_work(FulfillmentUnitOfWork)
    FulfillmentMetrics(runtime.metrics.source).watch(runtime)
    policy = settings.timer_policy()
    subscribe(runtime, policy)
    hub = live_hub(runtime)

    runtime.add_worker(
        timer_sweeper(
            units_of_work, policy, settings.timer_sweep_interval, settings.timer_batch_size
        )
    )
    admin_keys = settings.admin_keys()
    viewers = Viewers(
        orders=OrderTokenVerifier(settings.order_keys()),
        admins=AdminTokenVerifier(admin_keys) if admin_keys else None,
    )
    edge = Edge(
        runtime,
        policy,
        RetryOrder(units_of_work, policy),
        DeliverByHand(units_of_work),
        ReadStats(units_of_work, policy.max_age),
        hub,
        viewers,
        settings.ws_heartbeat_seconds,
    )
    socket = WebSocketRoute("/ws/orders/{order_id}", order_status)
    routes = [*internal.ROUTES, *internal_stats.ROUTES, socket]
    tokens = edge_tokens(settings)
    app = create_app(
        runtime,
        routes,
        internal_tokens=tokens,
        refusals=REFUSALS,
        dependencies=edge,
        openapi=describe,
    )
    app.state.live_hub = hub
    return runtime, app
