"""Reading what the browser or an API client sent: the query models of the listings
(read with `parse_query`: 422 ``invalid_<name>`` naming the bad parameter), path ids,
forms, login bodies and decision notes."""

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, ClassVar, TypeVar
from urllib.parse import parse_qs
from uuid import UUID

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from starlette.requests import Request

from bitloot_admin.domain.flags import NoteTooLong, clean_note
from bitloot_admin.handlers.orders import OrderFilter
from bitloot_admin.handlers.repairs import DEAD_LETTER_SERVICES
from bitloot_contracts.order_filters import ORDER_FILTERS
from bitloot_runtime.http import (
    MAX_BIGINT,
    HttpError,
    QueryFlag,
    QueryModel,
    parse_body,
    parse_json,
    parse_query,
    path_uuid,
    read_body,
    read_json,
    validation_fields,
    whole_number,
)
from bitloot_runtime.paging import MAX_PAGE

ModelT = TypeVar("ModelT", bound=BaseModel)
MAX_FORM = 8 * 1024
# A note of the longest length payments keeps, each character escaped as a form or as
# JSON may escape it (up to 12 bytes: ``%F0%9F%98%80``, a surrogate pair in ``\uXXXX``).
MAX_NOTE_BODY = 32 * 1024
MAX_PRESIGN_SECONDS = 7 * 24 * 3600
HOUR = 3600


def invalid(name: str, code: str = "invalid") -> list[dict[str, str]]:
    """The ``fields`` of a refusal of one field (`name`)."""
    return [{"field": name, "code": code, "error": f"{name} is {code}"}]


def problem(exc: HttpError) -> str:
    """What a page says of a refusal: each bad field's problem, else its detail."""
    return " ".join(field["error"] for field in exc.fields) or exc.detail


def _blank(raw: object) -> object:
    """A blank parameter (a page's empty filter field) is an absent one."""
    return (raw.strip() or None) if isinstance(raw, str) else raw


def _short(raw: object) -> object:
    return (raw.strip()[:64] or None) if isinstance(raw, str) else raw


def _whole(raw: object) -> object:
    # Plain digits only: pydantic alone would take a sign, spaces, ``_`` or ``.0``.
    if isinstance(raw, str) and whole_number(raw) is None:
        raise ValueError("must be a whole number written in digits")
    return raw


Blank = BeforeValidator(_blank)
# A day as `date.fromisoformat` reads it (pydantic alone would read a number as Unix time).
IsoDay = BeforeValidator(lambda raw: date.fromisoformat(raw) if isinstance(raw, str) else raw)
Limit = Annotated[
    Annotated[int, Field(ge=1, le=MAX_PAGE, description="Page size.")], BeforeValidator(_whole)
]
Before = Annotated[
    Annotated[int, Field(ge=0, le=MAX_BIGINT)] | None, BeforeValidator(_whole), Blank
]


def _one_of(name: str) -> Any:
    return Field(None, json_schema_extra={"enum": list(ORDER_FILTERS[name])})


class OrderQuery(QueryModel):
    """``GET /admin/api/orders`` (and the orders page): `ORDER_FILTERS` each one of its
    known values, the order's own `status`, payments' `cursor` of the previous page, the
    day of creation, one order by id."""

    payment: Annotated[str | None, Blank] = _one_of("payment")
    fulfilment: Annotated[str | None, Blank] = _one_of("fulfilment")
    refund: Annotated[str | None, Blank] = _one_of("refund")
    customer: Annotated[str | None, Blank] = _one_of("customer")
    preset: Annotated[str | None, Blank] = _one_of("preset")
    status: Annotated[str | None, Blank] = Field(None, pattern=r"^[a-z_]{1,32}$")
    cursor: Annotated[str | None, Blank] = Field(
        None, pattern=r"^[A-Za-z0-9_-]{1,200}$", description="The `next` of the previous page."
    )
    limit: Limit = 50
    created_on: Annotated[date | None, IsoDay, Blank] = Field(
        None, alias="date", description="The day of creation, YYYY-MM-DD."
    )
    order_id: Annotated[UUID | None, Blank] = None
    email: Annotated[str | None, Blank] = None

    @field_validator(*ORDER_FILTERS)
    @classmethod
    def _known(cls, value: str | None, info: ValidationInfo) -> str | None:
        known = ORDER_FILTERS[str(info.field_name)]
        if value is not None and value not in known:
            raise ValueError(f"{info.field_name} {value[:64]!r} is not one of {', '.join(known)}.")
        return value

    def chosen(self) -> OrderFilter:
        # The fields are `OrderFilter`'s, by name (`created_on` is read as ``date``).
        return OrderFilter(**dict(self))


def order_filter(request: Request) -> OrderFilter:
    """The orders wanted (`OrderQuery`); 422 before any service is asked."""
    return parse_query(OrderQuery, request).chosen()


class AuditQuery(QueryModel):
    """``GET /admin/api/audit``: audited actions before an audit id, by admin and action."""

    before: Before = Field(None, description="An audit id: the page after the one ending there.")
    limit: Limit = 50
    username: Annotated[str | None, BeforeValidator(_short)] = None
    action: Annotated[str | None, BeforeValidator(_short)] = None


class DeadLetterQuery(QueryModel):
    limit: Limit = 50
    include_replayed: str | None = Field(None, description="`true` to include them.")

    @property
    def replayed_too(self) -> bool:
        return self.include_replayed == "true"


class ListingQuery(QueryModel):
    """A listing's page size; its filters are read by `listings.chosen_filters`."""

    limit: Limit = 50


class ReplayQuery(QueryModel):
    force: QueryFlag = False


class TtlQuery(QueryModel):
    """The lifetime of a presigned URL: 1 s to 7 days, one hour unless given."""

    refusal: ClassVar[str | None] = "invalid_ttl"

    ttl_seconds: Annotated[
        Annotated[int, Field(ge=1, le=MAX_PRESIGN_SECONDS)],
        BeforeValidator(_whole),
        BeforeValidator(lambda raw: raw or HOUR),
    ] = HOUR


def ttl_seconds(request: Request, form: Mapping[str, str]) -> int:
    """A form's `TtlQuery` (or the query string's, without one in the form)."""
    raw = form.get("ttl_seconds") or request.query_params.get("ttl_seconds")
    try:
        return TtlQuery.model_validate({"ttl_seconds": raw}).ttl_seconds
    except ValidationError as exc:
        detail = f"ttl_seconds must be 1 to {MAX_PRESIGN_SECONDS}."
        raise HttpError(422, "invalid_ttl", detail, validation_fields(exc)) from None


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


# The path's order id; a non-UUID is an order admin cannot find (404 order_not_found).
order_id = functools.partial(path_uuid, status=404, code="order_not_found")


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


async def optional_body(request: Request, model: type[ModelT]) -> ModelT | None:
    """An action's JSON body as `model`: no body is None; otherwise 415, 400, 422 as for
    any JSON body."""
    raw = await read_body(request, MAX_NOTE_BODY)
    if not raw:
        return None
    if _content_type(request) != "application/json":
        raise HttpError(415, "unsupported_media_type", "Send the body as application/json.")
    return parse_body(model, parse_json(raw))


async def read_fields(request: Request, model: type[BaseModel] | None) -> dict[str, str]:
    """A JSON body of an API action (as `model`) as form-like fields: no body (or no
    `model`), none."""
    body = await optional_body(request, model) if model else None
    fields = body.model_dump() if body else {}
    return {name: value for name, value in fields.items() if value is not None}


def note(raw: str | None) -> str | None:
    """A decision's note, from the API or a form: 422 ``note_too_long`` past payments'
    limit, so that nothing is sent."""
    try:
        return clean_note(raw)
    except NoteTooLong as exc:
        raise HttpError(422, "note_too_long", str(exc), invalid("note")) from None


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()
