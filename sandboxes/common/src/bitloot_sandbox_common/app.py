"""A sandbox as a Starlette app whose state is closed with the app."""

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from starlette.applications import Starlette
from starlette.routing import BaseRoute


class Closable(Protocol):
    async def aclose(self) -> None: ...


def sandbox_app(sandbox: Closable, routes: Sequence[BaseRoute]) -> Starlette:
    """The app serving `routes`; `app.state.sandbox` is `sandbox`, closed at shutdown.

    Without the lifespan (``httpx.ASGITransport`` does not run it) call
    ``await app.state.sandbox.aclose()``.
    """

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await sandbox.aclose()

    app = Starlette(routes=list(routes), lifespan=lifespan)
    app.state.sandbox = sandbox
    return app
