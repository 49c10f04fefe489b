"""HTTP errors every edge answers the same way: a status code and a machine-readable
reason, ``{"error": "<code>", "detail": "<text>", "fields": [...]}``.

Handlers raise `HttpError`; `EXCEPTION_HANDLERS` (installed by `create_app`) turns it into
that body. `read_json` and `parse_body` reject a bad body, `parse_query` a bad query
string (a `QueryModel`), before anything changes. A service's own exceptions become
answers through its `Refusals` table, given to `create_app`: endpoints raise, never map.

Two failures that are nobody's bug are answered without a traceback: the database (or
the network to it) failing for a moment is a 503 with ``Retry-After``, and a client that
hangs up before its body arrived is one INFO line.
"""

import json
import logging
import math
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, ClassVar, TypeVar
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
)
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ExceptionHandler

from bitloot_runtime.db import is_transient
from bitloot_runtime.errors import BitlootError
from bitloot_runtime.logging import log_context

ModelT = TypeVar("ModelT", bound=BaseModel)
QueryModelT = TypeVar("QueryModelT", bound="QueryModel")

DEFAULT_MAX_BODY = 64 * 1024
MAX_BIGINT = 2**63 - 1
# A database blip lasts as long as SQLAlchemy takes to discard its dead pool and
# PostgreSQL to accept new connections: seconds, not minutes.
RETRY_AFTER_SECONDS = 2
# 499 is nginx's "client closed request": nobody reads it, but the number says what happened.
CLIENT_CLOSED_REQUEST = 499

logger = logging.getLogger(__name__)


class HttpError(BitlootError):
    """An answer other than success: `status`, a short `code`, a human `detail`."""

    def __init__(
        self, status: int, code: str, detail: str, fields: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.fields = fields or []


def error_response(error: HttpError) -> JSONResponse:
    # `fields` even when empty: one shape for every refusal of every service (the admin
    # API, which answers the router's own 404s through this, promises it).
    body = {"error": error.code, "detail": error.detail, "fields": error.fields}
    return JSONResponse(body, status_code=error.status)


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HttpError)
    return error_response(exc)


async def _starlette_error(_request: Request, exc: Exception) -> Response:
    # Starlette's own 404/405: same body shape as ours.
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error_response(HttpError(exc.status_code, code, str(exc.detail)))


async def _dependency_error(request: Request, exc: Exception) -> Response:
    """A transient database or network failure: 503 with ``Retry-After``, since the same
    request is expected to succeed on the fresh connection the pool opens next. Any other
    error of these classes is a bug, and is re-raised to be answered and logged as one."""
    if not is_transient(exc):
        raise exc
    # The class name only: SQLAlchemy's message would carry the statement.
    logger.warning(
        "dependency unavailable; answered 503",
        extra={"path": request.url.path, "error": type(exc).__name__},
    )
    response = error_response(
        HttpError(
            503,
            "temporarily_unavailable",
            "A dependency failed for a moment; retry after the Retry-After delay.",
        )
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


async def _client_disconnect(request: Request, _exc: Exception) -> Response:
    """The client hung up before sending the whole body: nothing to answer, nothing broken
    here (a load balancer timing out, a user closing the page), so one INFO line."""
    logger.info(
        "client disconnected before sending the whole body",
        extra={"path": request.url.path, "method": request.method, "reason": "client_disconnect"},
    )
    return error_response(
        HttpError(CLIENT_CLOSED_REQUEST, "client_disconnected", "The body was cut short.")
    )


EXCEPTION_HANDLERS = {
    HttpError: _http_error,
    HTTPException: _starlette_error,
    SQLAlchemyError: _dependency_error,
    OSError: _dependency_error,
    ClientDisconnect: _client_disconnect,
}


def whole_number(raw: str | None, maximum: int = MAX_BIGINT) -> int | None:
    """`raw` (a query, path or header value) as a whole number from 0 to `maximum` (by
    default the largest a PostgreSQL bigint holds); None when it is anything else.
    `str.isdigit` alone is not enough: ``"²"`` is a digit to it, and not to `int`."""
    if raw is None or not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(maximum)):
        return None
    value = int(raw)
    return value if value <= maximum else None


async def read_body(request: Request, max_bytes: int = DEFAULT_MAX_BODY) -> bytes:
    """The raw body, refused with 413 past `max_bytes` (read no further than that)."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
        raise HttpError(413, "body_too_large", f"The body exceeds {max_bytes} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise HttpError(413, "body_too_large", f"The body exceeds {max_bytes} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


class DuplicateJsonKey(ValueError):
    """A JSON object names the same key twice: parsers disagree on which value wins, so a
    signature, a validator and a handler could each see a different document."""

    def __init__(self, key: str) -> None:
        super().__init__(f"The key {key!r} appears twice in one object.")
        self.key = key


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An `object_pairs_hook` for `json.loads` that raises `DuplicateJsonKey`."""
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise DuplicateJsonKey(key)
        document[key] = value
    return document


def _no_constant(name: str) -> Any:
    # Python reads NaN and Infinity, which are not JSON (RFC 8259) and which no answer
    # could echo back: refuse them as the syntax errors they are.
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:40]} is too large")
    return value


def parse_json(raw: bytes) -> Any:
    """`raw` as a JSON document; `HttpError` 400 ``duplicate_json_key`` for a key given
    twice in one object, ``malformed_json`` for anything else that is not strict JSON:
    bad syntax or UTF-8, NaN/Infinity, a number too large for a float or an int, and text
    with a lone surrogate (``"\\ud800"``: no database or answer can encode it)."""
    try:
        document = json.loads(
            raw,
            object_pairs_hook=unique_keys,
            parse_constant=_no_constant,
            parse_float=_finite_float,
        )
        json.dumps(document, ensure_ascii=False).encode()
    except DuplicateJsonKey as exc:
        raise HttpError(400, "duplicate_json_key", str(exc)) from None
    # ValueError: JSONDecodeError, bad UTF-8 or surrogate, and integers longer than Python
    # converts; RecursionError: nesting deeper than the parser goes.
    except (ValueError, RecursionError) as exc:
        raise HttpError(400, "malformed_json", f"The body is not valid JSON: {exc}") from None
    return document


async def read_json(request: Request, max_bytes: int = DEFAULT_MAX_BODY) -> tuple[bytes, Any]:
    """The raw body and its parsed JSON; 415 for another content type, 413 past
    `max_bytes`, 400 for bad JSON or a key given twice (see `parse_json`)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise HttpError(415, "unsupported_media_type", "Send the body as application/json.")
    raw = await read_body(request, max_bytes)
    return raw, parse_json(raw)


def answer(body: BaseModel, status: int = 200, *, exclude_unset: bool = False) -> JSONResponse:
    """`body` (an endpoint's response model) as its JSON answer; `exclude_unset` leaves
    out the optional fields it was not given (a body with one of two fields)."""
    return JSONResponse(body.model_dump(mode="json", exclude_unset=exclude_unset), status)


Moment = Annotated[
    datetime,
    PlainSerializer(datetime.isoformat, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""A time in an answer, as Python's ``isoformat`` writes it (``+00:00``, not ``Z``)."""


def validation_fields(error: ValidationError) -> list[dict[str, str]]:
    """Pydantic's errors as ``[{"field": "lines.0.qty", "error": "...", "code": "..."}]``."""
    return [
        {
            "field": ".".join(str(part) for part in item["loc"]) or "body",
            "code": item["type"],
            "error": item["msg"],
        }
        for item in error.errors(include_url=False, include_input=False)
    ]


def parse_body(model: type[ModelT], document: Any) -> ModelT:
    """Validate a parsed JSON document; 422 with one entry per bad field."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise HttpError(
            422, "invalid_request", "The request is invalid.", validation_fields(exc)
        ) from None


class QueryModel(BaseModel):
    """A query string's parameters, one field each; a ``list[...]`` field takes the
    parameter repeated. Unknown parameters are ignored. Subclass it per endpoint and read
    it with `parse_query`; declare it on the route (`openapi.ApiRoute`) and the OpenAPI
    document lists its fields as the operation's parameters.

    A bad value is answered 422 ``invalid_<name>``; a model of filters may name one code
    for all its filters in `refusal` (``invalid_filter``), paging parameters keeping theirs.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    refusal: ClassVar[str | None] = None
    # Parameters whose refusal is always their own code, whatever `refusal` says.
    own_codes: ClassVar[frozenset[str]] = frozenset()


def _flag(raw: object) -> object:
    if raw in ("true", "false"):
        return raw == "true"
    raise ValueError("must be true or false")


QueryFlag = Annotated[bool, BeforeValidator(_flag)]
"""A yes/no query parameter: ``true`` or ``false``, nothing else."""


def _digits(raw: object) -> object:
    if isinstance(raw, str) and not (raw.isascii() and raw.isdigit()):
        raise ValueError("must be a whole number written in digits")
    return raw


DIGITS = BeforeValidator(_digits)
Whole = Annotated[int, DIGITS]
"""A whole-number query parameter in plain digits (no sign, space, ``_`` or ``.0``,
which pydantic alone would accept); bound it with ``Field(ge=..., le=...)`` as the
field's default. A bounded type of its own puts the bounds before the check,
``Annotated[int, Field(ge=..., le=...), DIGITS]``: after it, pydantic cannot write them
as JSON Schema (`openapi.problems` finds that)."""


def path_uuid(
    request: Request, name: str = "order_id", *, status: int = 422, code: str = "invalid_order_id"
) -> UUID:
    """The path parameter `name` as a UUID; otherwise `status` with `code` in the error
    body (a route taking any text there answers a bad id itself, not the router's 404)."""
    raw = str(request.path_params[name])
    try:
        return UUID(raw)
    except ValueError:
        raise HttpError(status, code, f"{name} {raw!r} is not a UUID.") from None


def _iso_time(raw: object) -> object:
    return datetime.fromisoformat(raw) if isinstance(raw, str) else raw


IsoTime = Annotated[AwareDatetime, BeforeValidator(_iso_time)]
"""A time query parameter in ISO 8601 with a zone (pydantic alone would also read a
number as a Unix time)."""


def parse_query(model: type[QueryModelT], request: Request) -> QueryModelT:
    """`request`'s query string as `model`; 422 naming the first bad parameter in
    ``error`` and every problem in ``fields``."""
    params = request.query_params
    names = {field.alias or name: field for name, field in model.model_fields.items()}
    raw = {
        name: params.getlist(name) if typing.get_origin(field.annotation) is list else params[name]
        for name, field in names.items()
        if name in params
    }
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        fields = validation_fields(exc)
        name = fields[0]["field"].split(".")[0]
        own = model.refusal is None or name in model.own_codes
        code = f"invalid_{name}" if own else str(model.refusal)
        raise HttpError(422, code, f"The query parameter {name!r} is invalid.", fields) from None


@dataclass(frozen=True)
class Refusal:
    """How a service's exception is answered: `status` (or a function of the exception
    giving it), `code` (None: the exception's own ``code`` attribute) and `detail` (None:
    the exception's message), with the exception's ``fields`` if it has them; logged at
    `level` with `log` when given."""

    status: int | Callable[[Any], int]
    code: str | None = None
    log: str | None = None
    level: int = logging.WARNING
    detail: str | None = None

    def error(self, exc: Exception) -> HttpError:
        status = self.status if isinstance(self.status, int) else self.status(exc)
        code = self.code or str(getattr(exc, "code", "refused"))
        if self.log:
            logger.log(self.level, self.log, extra={"error": str(exc), "code": code})
        return HttpError(status, code, self.detail or str(exc), getattr(exc, "fields", None))


Refusals = Mapping[type[Exception], Refusal]
"""A service's exception -> answer table, one per service, given to `create_app`. A
subclass without an entry of its own is answered as its nearest listed base class."""


def refusal_handlers(refusals: Refusals) -> dict[Any, ExceptionHandler]:
    """Starlette exception handlers answering each class of `refusals` as it says; a
    refusal logged on a route of one order carries its ``order_id``."""

    def handler(refusal: Refusal) -> ExceptionHandler:
        async def answer(request: Request, exc: Exception) -> Response:
            order_id = request.path_params.get("order_id")
            with log_context(order_id=None if order_id is None else str(order_id)):
                return error_response(refusal.error(exc))

        return answer

    return {kind: handler(refusal) for kind, refusal in refusals.items()}
