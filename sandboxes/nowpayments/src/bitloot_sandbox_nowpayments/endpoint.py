"""What every ``/v1`` endpoint shares: NOWPayments' error body, injected faults, the
``x-api-key`` check, and request fields validated as NOWPayments validates them."""

import asyncio
from collections.abc import Awaitable, Callable
from functools import wraps

from pydantic import JsonValue
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bitloot_sandbox_nowpayments.sandbox import NowPaymentsSandbox

Endpoint = Callable[[Request], Awaitable[Response]]


class InvalidRequest(ValueError):
    """A request NOWPayments would refuse with 400 INVALID_REQUEST_PARAMS; the message
    is theirs (joi's wording: ``"price_amount" must be a number``)."""


def error(status: int, code: str, message: str) -> JSONResponse:
    """NOWPayments' error body: ``{"status": false, "statusCode", "code", "message"}``."""
    body = {"status": False, "statusCode": status, "code": code, "message": message}
    headers = {"Retry-After": "1"} if status == 429 else None
    return JSONResponse(body, status_code=status, headers=headers)


def sandbox_of(request: Request) -> NowPaymentsSandbox:
    """The sandbox serving `request`."""
    sandbox: NowPaymentsSandbox = request.app.state.sandbox
    return sandbox


def guarded(*, api_key: bool) -> Callable[[Endpoint], Endpoint]:
    """Injected faults first, then (when `api_key`) the ``x-api-key`` check, then the
    handler, whose `InvalidRequest` becomes a 400."""

    def decorate(handler: Endpoint) -> Endpoint:
        @wraps(handler)
        async def endpoint(request: Request) -> Response:
            sandbox = sandbox_of(request)
            delay = sandbox.faults.take_delay()
            if delay:
                await asyncio.sleep(delay)
            fault = sandbox.faults.take_api_fault()
            if fault == 429:
                return error(429, "TOO_MANY_REQUESTS", "Too many requests")
            if fault == 503:
                return error(503, "SERVICE_UNAVAILABLE", "Service temporarily unavailable")
            if api_key and request.headers.get("x-api-key") != sandbox.config.api_key:
                return error(403, "INVALID_API_KEY", "Invalid api key")
            try:
                return await handler(request)
            except InvalidRequest as exc:
                return error(400, "INVALID_REQUEST_PARAMS", str(exc))

        return endpoint

    return decorate


api = guarded(api_key=True)


async def json_body(request: Request) -> dict[str, JsonValue]:
    """The request body as a JSON object."""
    try:
        body = await request.json()
    except ValueError:
        raise InvalidRequest("Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequest('"value" must be of type object')
    return body


def required_text(body: dict[str, JsonValue], name: str) -> str:
    """A required non-empty string field."""
    value = optional_text(body, name)
    if not value:
        raise InvalidRequest(f'"{name}" is required')
    return value


def optional_text(body: dict[str, JsonValue], name: str) -> str | None:
    """An optional string field (absent or null: None)."""
    value = body.get(name)
    if value is None or isinstance(value, str):
        return value
    raise InvalidRequest(f'"{name}" must be a string')


def optional_flag(body: dict[str, JsonValue], name: str) -> bool:
    """An optional boolean field (absent or null: false)."""
    value = body.get(name)
    if value is None or isinstance(value, bool):
        return bool(value)
    raise InvalidRequest(f'"{name}" must be a boolean')
