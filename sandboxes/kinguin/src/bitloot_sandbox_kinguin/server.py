"""Serving the sandbox in the current event loop (demo, tests) or as a process."""

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette

from bitloot_sandbox_common.serving import serve
from bitloot_sandbox_kinguin.app import create_app
from bitloot_sandbox_kinguin.config import KinguinSandboxConfig


@contextlib.asynccontextmanager
async def running(config: KinguinSandboxConfig) -> AsyncIterator[str]:
    """The sandbox for `config`, served on `config.host:config.port` (0: a free port) in
    this event loop; yields its base URL, e.g. ``http://127.0.0.1:43117``."""
    async with running_app(config) as (base_url, _app):
        yield base_url


@contextlib.asynccontextmanager
async def running_app(config: KinguinSandboxConfig) -> AsyncIterator[tuple[str, Starlette]]:
    """Like `running`, also yielding the app (its state: `app.state.sandbox`)."""
    app = create_app(config)
    async with serve(app, config.host, config.port) as base_url:
        yield base_url, app
