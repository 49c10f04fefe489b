"""A service served by `bitloot_runtime.app.run`, as a real one is: uvicorn, its settings
from WIDGETS_* variables. ``/client/{order_id}`` answers the client address it was given.

    python serve_child.py
"""

from pydantic_settings import SettingsConfigDict
from sqlalchemy import MetaData
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bitloot_runtime.app import create_app, run
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.settings import ServiceSettings, load_settings


class WidgetSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="WIDGETS_")


async def client(request: Request) -> PlainTextResponse:
    return PlainTextResponse(request.client.host if request.client else "-")


def build() -> tuple[ServiceRuntime, Starlette]:
    settings = load_settings(WidgetSettings)
    runtime = ServiceRuntime(service="widgets", settings=settings, metadata=MetaData())
    return runtime, create_app(runtime, [Route("/client/{order_id}", client)])


if __name__ == "__main__":
    run("widgets", build)
