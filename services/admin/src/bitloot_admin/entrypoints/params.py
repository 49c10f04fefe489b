"""Reading what the browser or an API client sent: order filters, forms, login bodies."""

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs
from uuid import UUID

from pydantic import BaseModel, Field
from starlette.requests import Request

from bitloot_admin.handlers.orders import OrderFilter
from bitloot_runtime.http import HttpError, parse_body, read_body, read_json
from bitloot_runtime.internal import page_limit

MAX_FORM = 8 * 1024
_STATUS = re.compile(r"^[a-z_]{1,32}$")


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


@dataclass(frozen=True)
class LoginForm:
    credentials: LoginRequest
    csrf: str | None
    is_json: bool


def order_filter(request: Request) -> OrderFilter:
    """``limit`` (1-100), ``email``, ``status`` and ``before`` (an ISO date-time cursor)."""
    query = request.query_params
    email = query.get("email", "").strip() or None
    status = query.get("status", "").strip() or None
    before = query.get("before", "").strip() or None
    if status is not None and not _STATUS.match(status):
        raise HttpError(422, "invalid_status", f"status {status!r} is not a status name.")
    if before is not None:
        try:
            datetime.fromisoformat(before)
        except ValueError:
            raise HttpError(422, "invalid_before", "before must be an ISO date-time.") from None
    return OrderFilter(limit=page_limit(request), email=email, status=status, before=before)


def order_id(request: Request) -> UUID:
    raw = str(request.path_params["order_id"])
    try:
        return UUID(raw)
    except ValueError:
        raise HttpError(404, "order_not_found", f"{raw!r} is not an order id.") from None


async def read_form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body, first value of each field."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise HttpError(415, "unsupported_media_type", "Send a form or JSON.")
    raw = await read_body(request, MAX_FORM)
    try:
        fields = parse_qs(raw.decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise HttpError(400, "malformed_form", "The form is not UTF-8.") from None
    return {name: values[0] for name, values in fields.items()}


async def read_login(request: Request) -> LoginForm:
    """Credentials from a JSON body (API clients) or the login form (browsers)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        _, document = await read_json(request, MAX_FORM)
        return LoginForm(parse_body(LoginRequest, document), None, is_json=True)
    form = await read_form(request)
    credentials = parse_body(LoginRequest, form)
    return LoginForm(credentials, form.get("csrf"), is_json=False)
