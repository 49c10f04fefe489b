"""Serving an ASGI app in the current event loop (the sandboxes and services of the
one-process demo, tests), beside other servers: the tree's one uvicorn-in-loop helper."""

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Generator
from typing import Any

import uvicorn
from starlette.types import ASGIApp
from uvicorn.config import LOGGING_CONFIG


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the program embedding it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None]:
        yield


@contextlib.asynccontextmanager
async def serve(
    app: ASGIApp, host: str, port: int, log_config: dict[str, Any] | None = LOGGING_CONFIG
) -> AsyncIterator[str]:
    """Serve `app` (its lifespan included) on `host:port` (0: any free port) in this event
    loop; yield its base URL. `log_config` None leaves logging as the embedding program
    configured it (a service's own JSON logs)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    actual_port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, lifespan="on", log_level="warning", access_log=False, log_config=log_config
    )
    server = EmbeddedServer(config)
    with sock:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError(f"The sandbox on {host}:{actual_port} did not start")
                await asyncio.sleep(0.01)
            yield f"http://{host}:{actual_port}"
        finally:
            server.should_exit = True
            await task
