"""`/healthz` (the process is alive), `/readyz` (its dependencies answer) and `/metrics`
(Prometheus), the same in every service."""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bitloot_runtime.metrics import RuntimeMetrics
from bitloot_runtime.openapi import PUBLIC, ApiRoute

logger = logging.getLogger(__name__)

Check = Callable[[], Awaitable[None]]
"""A readiness probe: returns when the dependency answers, raises when it does not."""


class NotReady(Exception):
    """Raised by a check that knows why: `reason` (no secrets in it) is reported as is,
    e.g. ``"blocked"`` for a broker refusing publishes."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def _run_check(check: Check, timeout: float) -> str:
    try:
        await asyncio.wait_for(check(), timeout)
    except TimeoutError:
        return "timeout"
    except NotReady as exc:
        return exc.reason
    except Exception as exc:
        # The class name only: a message could carry a DSN with its password.
        return f"error: {type(exc).__name__}"
    return "ok"


class Liveness(BaseModel):
    status: str  # ok, or loops_stopped
    stopped: list[str] = []  # the loops that ended, when any did


class Readiness(BaseModel):
    status: str  # ready or not_ready
    checks: dict[str, str]  # each check's result: ok, or what failed


def health_routes(
    checks: Mapping[str, Check],
    metrics: RuntimeMetrics,
    refresh: Callable[[], Awaitable[None]] | None = None,
    *,
    timeout: float = 2.0,
    stopped: Callable[[], list[str]] | None = None,
) -> list[ApiRoute]:
    """The three health routes.

    `/healthz` answers 503 naming them when `stopped` reports loops of the process that
    have ended (a relay or sweeper that died would otherwise go unnoticed while the HTTP
    side still answers): the liveness probe then restarts the process.

    `/readyz` runs every check in `checks` concurrently, each within `timeout` seconds,
    and answers 503 naming the failures unless all pass. `/metrics` first awaits
    `refresh` (which sets gauges from the database), within the same timeout; if it
    fails the scrape still gets the last values, and their age in
    ``bitloot_gauges_refreshed_timestamp_seconds``.
    """

    async def healthz(_request: Request) -> Response:
        ended = stopped() if stopped is not None else []
        if ended:
            return JSONResponse({"status": "loops_stopped", "stopped": ended}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        results = await asyncio.gather(*(_run_check(c, timeout) for c in checks.values()))
        report = dict(zip(checks, results, strict=True))
        ready = all(result == "ok" for result in results)
        body = {"status": "ready" if ready else "not_ready", "checks": report}
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics_endpoint(_request: Request) -> Response:
        if refresh is not None:
            try:
                await asyncio.wait_for(refresh(), timeout)
                metrics.gauges_refreshed.set_to_current_time()
            except Exception:
                logger.warning("metrics refresh failed; serving the last values", exc_info=True)
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    return [
        ApiRoute(
            "/healthz",
            healthz,
            summary="The process is alive.",
            response=Liveness,
            others={"503": "A loop of the process ended (`loops_stopped`)."},
            security=PUBLIC,
        ),
        ApiRoute(
            "/readyz",
            readyz,
            summary="Every dependency answers.",
            response=Readiness,
            others={"503": "A dependency did not answer (`not_ready`)."},
            security=PUBLIC,
        ),
        ApiRoute(
            "/metrics",
            metrics_endpoint,
            summary="Prometheus metrics.",
            response=None,
            media="text/plain",
            security=PUBLIC,
        ),
    ]
