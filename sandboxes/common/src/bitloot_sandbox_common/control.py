"""Pieces of the ``/sandbox/...`` control endpoints (JSON, no authentication)."""

from collections.abc import Callable

from pydantic import JsonValue
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitloot_sandbox_common.faults import Faults, FaultsError


def refuse(detail: str, status: int = 400) -> JSONResponse:
    """A refused control call: ``{"error": "invalid_request", "detail": ...}``."""
    return JSONResponse({"error": "invalid_request", "detail": detail}, status_code=status)


async def json_object(request: Request) -> dict[str, JsonValue] | None:
    """The body as a JSON object (``{}`` when empty); None when it is anything else."""
    try:
        body = await request.json() if await request.body() else {}
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def faults_route(faults_of: Callable[[Request], Faults]) -> Route:
    """``GET``/``POST``/``DELETE /sandbox/faults``: read, change (only the fields sent;
    nothing if one is invalid) or reset the sandbox's faults."""

    async def faults(request: Request) -> Response:
        current = faults_of(request)
        if request.method == "DELETE":
            current.reset()
        elif request.method == "POST":
            body = await json_object(request)
            if body is None:
                return refuse("The body must be a JSON object")
            try:
                current.update(body)
            except FaultsError as exc:
                return refuse(str(exc))
        return JSONResponse(current.as_json())

    return Route("/sandbox/faults", faults, methods=["GET", "POST", "DELETE"])
