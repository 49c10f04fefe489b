"""Serving ASGI apps with uvicorn inside the demo's own event loop."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import uvicorn
from starlette.types import ASGIApp


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals alone: the demo stops every server itself."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@asynccontextmanager
async def serving(app: ASGIApp, port: int, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Serve `app` (its lifespan included) until the block ends; yields its base URL."""
    config = uvicorn.Config(
        app, host=host, port=port, log_config=None, access_log=False, lifespan="on"
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises what stopped the server (a port in use, a failed start)
            raise RuntimeError(f"server on port {port} stopped during start-up")
        await asyncio.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await task
