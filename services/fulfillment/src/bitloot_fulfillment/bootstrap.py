"""Wires the fulfillment service together from its settings; nothing is built at import."""

from starlette.applications import Starlette

from bitloot_contracts.topics import FULFILLMENT
from bitloot_fulfillment.adapters.orm import metadata
from bitloot_fulfillment.entrypoints.bus import subscribe
from bitloot_fulfillment.migrations import VERSIONS
from bitloot_fulfillment.settings import Settings
from bitloot_runtime.app import create_app
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.settings import load_settings


def build(settings: Settings | None = None) -> tuple[ServiceRuntime, Starlette]:
    """The service's runtime and its HTTP app, from `settings` or the environment."""
    settings = settings or load_settings(Settings)
    runtime = ServiceRuntime(
        service=FULFILLMENT, settings=settings, metadata=metadata, version_locations=[VERSIONS]
    )
    subscribe(runtime)
    return runtime, create_app(runtime)
