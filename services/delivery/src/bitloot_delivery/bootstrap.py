"""Wires the delivery service together from its settings; nothing is built at import."""

from starlette.applications import Starlette

from bitloot_contracts.topics import DELIVERY
from bitloot_delivery.adapters.orm import metadata
from bitloot_delivery.migrations import VERSIONS
from bitloot_delivery.settings import Settings
from bitloot_runtime.app import create_app
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.settings import load_settings


def build(settings: Settings | None = None) -> tuple[ServiceRuntime, Starlette]:
    """The service's runtime and its HTTP app, from `settings` or the environment."""
    settings = settings or load_settings(Settings)
    runtime = ServiceRuntime(
        service=DELIVERY, settings=settings, metadata=metadata, version_locations=[VERSIONS]
    )
    return runtime, create_app(runtime)
