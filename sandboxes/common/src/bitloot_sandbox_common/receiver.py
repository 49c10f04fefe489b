"""A receiver for a sandbox's callbacks: records every one, can refuse the first few.

Used by the sandboxes' tests in place of the BitLoot edge a callback would reach.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bitloot_sandbox_common.serving import serve


@dataclass
class Receiver:
    """Every callback received (headers, raw body); `fail_first` of them answered 503."""

    url: str = ""
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    fail_first: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for(self, count: int, timeout: float = 5.0) -> None:
        """Return once `count` callbacks arrived; TimeoutError after `timeout` seconds."""
        async with asyncio.timeout(timeout):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()


@contextlib.asynccontextmanager
async def receiving(path: str = "/callback") -> AsyncIterator[Receiver]:
    """A `Receiver` served on a free port of 127.0.0.1; its `url` ends in `path`."""
    receiver = Receiver()

    async def callback(request: Request) -> Response:
        receiver.received.append((dict(request.headers), await request.body()))
        receiver.arrived.set()
        failing = len(receiver.received) <= receiver.fail_first
        return Response(status_code=503 if failing else 200)

    app = Starlette(routes=[Route(path, callback, methods=["POST"])])
    async with serve(app, "127.0.0.1", 0) as base_url:
        receiver.url = base_url + path
        yield receiver
