"""`bitloot_runtime.app.run` serving a plain app (no database, no broker): the server as
every service runs it, its settings from WIDGETS_* variables; ``/healthz`` answers ok.

    python plain_child.py
"""

from typing import cast

from pydantic_settings import SettingsConfigDict
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bitloot_runtime.app import run
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.settings import ServiceSettings, load_settings


class WidgetSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WIDGETS_")


class PlainRuntime:
    """All `run` reads of a runtime: its settings."""

    def __init__(self, settings: WidgetSettings) -> None:
        self.settings = settings


async def healthz(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def build() -> tuple[ServiceRuntime, Starlette]:
    settings = load_settings(
        WidgetSettings, database_url="postgresql+asyncpg://unused@127.0.0.1/x", amqp_url="amqp://x"
    )
    app = Starlette(routes=[Route("/healthz", healthz)])
    return cast(ServiceRuntime, PlainRuntime(settings)), app


if __name__ == "__main__":
    run("widgets", build)
