"""Reading what the browser or an API client sent: order filters, forms, login bodies."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TypedDict
from urllib.parse import parse_qs
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request

from bitloot_admin.domain.flags import NoteTooLong, clean_note
from bitloot_admin.handlers.orders import OrderFilter
from bitloot_admin.handlers.repairs import DEAD_LETTER_SERVICES
from bitloot_contracts.order_filters import ORDER_FILTERS
from bitloot_runtime.http import (
    HttpError,
    parse_body,
    parse_json,
    read_body,
    read_json,
    whole_number,
)
from bitloot_runtime.internal import page_limit

MAX_FORM = 8 * 1024
# A note of the longest length payments keeps, each character escaped as a form or as
# JSON may escape it (up to 12 bytes: ``%F0%9F%98%80``, a surrogate pair in ``\uXXXX``).
MAX_NOTE_BODY = 32 * 1024
MAX_PRESIGN_SECONDS = 7 * 24 * 3600
_STATUS = re.compile(r"^[a-z_]{1,32}$")
_CURSOR = re.compile(r"^[A-Za-z0-9_-]{1,200}$")


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    # The TOTP code (or a recovery code) of an account with a second factor.
    totp: str | None = Field(default=None, min_length=1, max_length=32)


@dataclass(frozen=True)
class LoginForm:
    credentials: LoginRequest
    csrf: str | None
    is_json: bool


def order_filter(request: Request) -> OrderFilter:
    """``limit`` (1-100), ``order_id``, ``email``, ``status``, ``date`` (YYYY-MM-DD, the day
    of creation), ``cursor`` (from the previous page's ``next``) and the filters of
    `ORDER_FILTERS`, each one of its known values (422 ``invalid_<name>`` before any
    service is asked)."""
    query = request.query_params
    shown: dict[str, str | None] = {}
    for name, known in ORDER_FILTERS.items():
        value = query.get(name, "").strip() or None
        if value is not None and value not in known:
            detail = f"{name} {value[:64]!r} is not one of {', '.join(known)}."
            raise HttpError(422, f"invalid_{name}", detail, _field(name))
        shown[name] = value
    email, status, day, cursor, wanted = (
        query.get(name, "").strip() or None
        for name in ("email", "status", "date", "cursor", "order_id")
    )
    if status is not None and not _STATUS.match(status):
        raise HttpError(
            422, "invalid_status", f"status {status!r} is not a status name.", _field("status")
        )
    if cursor is not None and not _CURSOR.match(cursor):
        raise HttpError(
            422, "invalid_cursor", "cursor is not one this API returned.", _field("cursor")
        )
    return OrderFilter(
        limit=page_limit(request),
        email=email,
        status=status,
        created_on=_day(day),
        cursor=cursor,
        order_id=_uuid(wanted, "order_id") if wanted else None,
        payment=shown["payment"],
        fulfilment=shown["fulfilment"],
        refund=shown["refund"],
        customer=shown["customer"],
        preset=shown["preset"],
    )


def _field(name: str) -> list[dict[str, str]]:
    return [{"field": name, "code": "invalid", "error": f"{name} is invalid"}]


def _day(raw: str | None) -> date | None:
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise HttpError(422, "invalid_date", "date must be YYYY-MM-DD.", _field("date")) from None


def _uuid(raw: str, name: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise HttpError(422, f"invalid_{name}", f"{name} must be a UUID.", _field(name)) from None


def order_id(request: Request) -> UUID:
    raw = str(request.path_params["order_id"])
    try:
        return UUID(raw)
    except ValueError:
        raise HttpError(404, "order_not_found", f"{raw!r} is not an order id.") from None


async def read_form(request: Request, max_bytes: int = MAX_FORM) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body, first value of each field."""
    if _content_type(request) != "application/x-www-form-urlencoded":
        raise HttpError(415, "unsupported_media_type", "Send a form or JSON.")
    raw = await read_body(request, max_bytes)
    try:
        fields = parse_qs(raw.decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise HttpError(400, "malformed_form", "The form is not UTF-8.") from None
    return {name: values[0] for name, values in fields.items()}


async def read_login(request: Request) -> LoginForm:
    """Credentials from a JSON body (API clients) or the login form (browsers)."""
    if _content_type(request) == "application/json":
        _, document = await read_json(request, MAX_FORM)
        return LoginForm(parse_body(LoginRequest, document), None, is_json=True)
    form = await read_form(request)
    credentials = parse_body(LoginRequest, form)
    return LoginForm(credentials, form.get("csrf"), is_json=False)


class AuditQuery(TypedDict):
    limit: int
    before: int | None
    username: str | None
    action: str | None


def audit_filter(request: Request) -> AuditQuery:
    """``limit``, ``before`` (an audit id), ``username`` and ``action``."""
    query = request.query_params
    before = query.get("before", "").strip()
    before_id = whole_number(before)
    if before and before_id is None:
        raise HttpError(422, "invalid_before", "before must be an audit id.", _field("before"))
    return AuditQuery(
        limit=page_limit(request),
        before=before_id,
        username=query.get("username", "").strip()[:64] or None,
        action=query.get("action", "").strip()[:64] or None,
    )


def item_id(request: Request, collection: str) -> str:
    """The id of a payment or webhook in the path: letters, digits, ``-`` and ``_``."""
    raw = str(request.path_params["item_id"])
    if len(raw) > 128 or not raw.replace("-", "").replace("_", "").isalnum():
        raise HttpError(404, "not_found", f"No {collection} item {raw!r}.")
    return raw


def letter_target(request: Request) -> tuple[str, int]:
    """The service and id of a dead letter in the path; 404 for a service we do not know."""
    service = str(request.path_params["service"])
    if service not in DEAD_LETTER_SERVICES:
        raise HttpError(404, "unknown_service", f"No service {service!r}.")
    return service, int(request.path_params["letter_id"])


def ttl_seconds(request: Request, form: Mapping[str, str]) -> int:
    """The lifetime of a presigned URL: 1 s to 7 days, one hour unless given."""
    raw = form.get("ttl_seconds") or request.query_params.get("ttl_seconds") or "3600"
    ttl = whole_number(raw, MAX_PRESIGN_SECONDS)
    if ttl is None or ttl < 1:
        raise HttpError(
            422,
            "invalid_ttl",
            f"ttl_seconds must be 1 to {MAX_PRESIGN_SECONDS}.",
            _field("ttl_seconds"),
        )
    return ttl


def row_id(request: Request, name: str, what: str) -> int:
    """A flag's or an IPN's id in the path (`name`): a whole number, else 404
    ``<what>_not_found`` before any service is asked."""
    raw = str(request.path_params[name])
    found = whole_number(raw)
    if found is None:
        raise HttpError(404, f"{what}_not_found", f"{raw[:64]!r} is not a {what} id.")
    return found


class DecisionRequest(BaseModel):
    """The body of a decision on a flag: why the admin decided so."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = None


async def read_note(request: Request) -> str | None:
    """The note of a decision sent to the API: no body is no note; otherwise JSON
    ``{"note": "..."}`` (415, 400, 422 as for any JSON body)."""
    raw = await read_body(request, MAX_NOTE_BODY)
    if not raw:
        return None
    if _content_type(request) != "application/json":
        raise HttpError(415, "unsupported_media_type", "Send the body as application/json.")
    return note(parse_body(DecisionRequest, parse_json(raw)).note)


def note(raw: str | None) -> str | None:
    """A decision's note, from the API or a form: 422 ``note_too_long`` past payments'
    limit, so that nothing is sent."""
    try:
        return clean_note(raw)
    except NoteTooLong as exc:
        raise HttpError(422, "note_too_long", str(exc), _field("note")) from None


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()
