"""Wires the admin service together from its settings; nothing is built at import."""

from starlette.applications import Starlette

from bitloot_admin.adapters.orm import metadata
from bitloot_admin.migrations import VERSIONS
from bitloot_admin.settings import Settings
from bitloot_contracts.topics import ADMIN
from bitloot_runtime.app import create_app
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.settings import load_settings


def build(settings: Settings | None = None) -> tuple[ServiceRuntime, Starlette]:
    """The service's runtime and its HTTP app, from `settings` or the environment."""
    settings = settings or load_settings(Settings)
    runtime = ServiceRuntime(
        service=ADMIN, settings=settings, metadata=metadata, version_locations=[VERSIONS]
    )
    return runtime, create_app(runtime)
