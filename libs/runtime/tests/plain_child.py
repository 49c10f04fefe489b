"""`bitloot_runtime.app.run` serving a plain app (no database, no broker): the server as
every service runs it, its settings from WIDGETS_* variables; ``/healthz`` answers ok
(also to a POST), ``/slow`` streams ``a``, then ``b`` a second and a half later, ``/gc``
the number of objects the garbage collector leaves out of its passes (frozen).

    python plain_child.py
"""

import asyncio
import gc
from collections.abc import AsyncIterator
from typing import cast

from pydantic_settings import SettingsConfigDict
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route

from bitloot_runtime.app import run
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.settings import ServiceSettings, load_settings

SLOW_SECONDS = 1.5


class WidgetSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WIDGETS_")


class PlainRuntime:
    """All `run` reads of a runtime: its settings."""

    def __init__(self, settings: WidgetSettings) -> None:
        self.settings = settings


async def healthz(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def frozen(_request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(gc.get_freeze_count()))


async def slow(_request: Request) -> StreamingResponse:
    async def parts() -> AsyncIterator[bytes]:
        yield b"a"
        await asyncio.sleep(SLOW_SECONDS)
        yield b"b"

    return StreamingResponse(parts(), media_type="text/plain")


def build() -> tuple[ServiceRuntime, Starlette]:
    settings = load_settings(
        WidgetSettings, database_url="postgresql+asyncpg://unused@127.0.0.1/x", amqp_url="amqp://x"
    )
    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET", "POST"]),
            Route("/slow", slow),
            Route("/gc", frozen),
        ]
    )
    return cast(ServiceRuntime, PlainRuntime(settings)), app


if __name__ == "__main__":
    run("widgets", build)
