"""The admin API's error body: always ``{"error", "detail", "fields"}`` (fields possibly
empty), so that a client reads every refusal the same way."""

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bitloot_runtime.http import HttpError

STARLETTE_CODES = {404: "not_found", 405: "method_not_allowed"}


def error_response(error: HttpError) -> JSONResponse:
    body = {"error": error.code, "detail": error.detail, "fields": error.fields}
    return JSONResponse(body, status_code=error.status)


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HttpError)
    return error_response(exc)


async def _starlette_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = STARLETTE_CODES.get(exc.status_code, "http_error")
    return error_response(HttpError(exc.status_code, code, str(exc.detail)))


EXCEPTION_HANDLERS = {HttpError: _http_error, HTTPException: _starlette_error}
