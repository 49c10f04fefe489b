"""Wires the kinguin-gateway service together from its settings; nothing is built at import."""

from starlette.applications import Starlette

from bitloot_contracts.topics import KINGUIN_GATEWAY
from bitloot_kinguin_gateway.adapters.orm import metadata
from bitloot_kinguin_gateway.migrations import VERSIONS
from bitloot_kinguin_gateway.settings import Settings
from bitloot_runtime.app import create_app
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.settings import load_settings


def build(settings: Settings | None = None) -> tuple[ServiceRuntime, Starlette]:
    """The service's runtime and its HTTP app, from `settings` or the environment."""
    settings = settings or load_settings(Settings)
    runtime = ServiceRuntime(
        service=KINGUIN_GATEWAY, settings=settings, metadata=metadata, version_locations=[VERSIONS]
    )
    return runtime, create_app(runtime)
