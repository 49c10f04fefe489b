"""The NOWPayments sandbox as a Starlette app."""

import httpx
from starlette.applications import Starlette

from bitloot_sandbox_common.app import sandbox_app
from bitloot_sandbox_nowpayments import api, control, pages, payout_api, payout_control
from bitloot_sandbox_nowpayments.config import NowPaymentsSandboxConfig
from bitloot_sandbox_nowpayments.sandbox import NowPaymentsSandbox


def create_app(
    config: NowPaymentsSandboxConfig | None = None,
    *,
    callback_transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """The sandbox app; its state is `app.state.sandbox` (a `NowPaymentsSandbox`).

    `callback_transport` routes IPNs through another httpx transport (e.g.
    ``httpx.ASGITransport(app=receiver)``) instead of the network. Without the lifespan
    (``httpx.ASGITransport`` does not run it) call ``await app.state.sandbox.aclose()``.
    """
    sandbox = NowPaymentsSandbox(config or NowPaymentsSandboxConfig(), callback_transport)

    return sandbox_app(
        sandbox,
        [
            *api.routes,
            *payout_api.routes,
            *pages.routes,
            *control.routes,
            *payout_control.routes,
        ],
    )
