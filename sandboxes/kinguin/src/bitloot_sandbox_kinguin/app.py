"""The Kinguin sandbox as a Starlette app."""

import httpx
from starlette.applications import Starlette

from bitloot_sandbox_common.app import sandbox_app
from bitloot_sandbox_kinguin import api, control
from bitloot_sandbox_kinguin.config import KinguinSandboxConfig
from bitloot_sandbox_kinguin.sandbox import KinguinSandbox


def create_app(
    config: KinguinSandboxConfig | None = None,
    *,
    callback_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """The sandbox app; its state is `app.state.sandbox` (a `KinguinSandbox`).

    `callback_transport` routes webhooks through another httpx transport (e.g.
    ``httpx.ASGITransport(app=receiver)``) instead of the network. Without the lifespan
    (``httpx.ASGITransport`` does not run it) call ``await app.state.sandbox.aclose()``.
    """
    sandbox = KinguinSandbox(config or KinguinSandboxConfig(), callback_transport)

    return sandbox_app(sandbox, [*api.routes, *control.routes])
