"""The internal API: read-only views (and a few repairs) each service offers the admin
service under ``/internal/``, guarded by a service token that customers never hold.

Every request to ``/internal/*`` must carry ``Authorization: Bearer <token>`` with the
current or the previous internal token; anything else is answered 401 and logged.
"""

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field, JsonValue, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bitloot_runtime.dead_letters import (
    DeadLetter,
    DeadLetterAlreadyReplayed,
    DeadLetterNotFound,
    DeadLetterStore,
)
from bitloot_runtime.http import (
    MAX_BIGINT,
    HttpError,
    IsoTime,
    Moment,
    QueryModel,
    error_response,
    whole_number,
)
from bitloot_runtime.publisher import BusPublisher
from bitloot_runtime.signatures import matches_any

logger = logging.getLogger(__name__)

PREFIX = "/internal/"
MAX_PAGE = 100
# The furthest back a figures endpoint (``GET /internal/stats``) counts: the admin's home
# page looks back a week; a month bounds what one request makes PostgreSQL sum.
MAX_STATS_WINDOW = timedelta(days=31)


class InternalAuthMiddleware:
    """Refuses ``/internal/*`` without a valid service token; other paths pass through."""

    def __init__(self, app: ASGIApp, tokens: Iterable[str]) -> None:
        self.app = app
        self.tokens = tuple(tokens)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope["path"]).startswith(PREFIX):
            header = Request(scope).headers.get("authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not matches_any(token, self.tokens):
                logger.warning(
                    "internal API call refused",
                    extra={"path": scope["path"], "client": _client(scope)},
                )
                response = error_response(
                    HttpError(401, "unauthorized", "A valid internal service token is required.")
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "?"


class TimelineEvent(BaseModel):
    """One thing a service did for an order, as the admin's order timeline shows it."""

    at: Moment
    kind: str
    summary: str
    data: dict[str, JsonValue]


class Timeline(BaseModel):
    """``GET /internal/orders/{order_id}/timeline``: what a service did, oldest first."""

    order_id: str
    items: list[TimelineEvent]


def page_limit(request: Request, default: int = 50) -> int:
    """The ``limit`` query parameter, 1-100; 422 otherwise."""
    raw = request.query_params.get("limit", str(default))
    limit = whole_number(raw, MAX_PAGE)
    if limit is None or limit < 1:
        raise HttpError(422, "invalid_limit", f"limit must be 1-{MAX_PAGE}, not {raw!r}.")
    return limit


class StatsQuery(QueryModel):
    """The query of a figures endpoint (``GET /internal/stats``)."""

    since: IsoTime = Field(
        description=f"Count from this time (with zone, within the last {MAX_STATS_WINDOW.days} "
        "days)."
    )

    @field_validator("since")
    @classmethod
    def _within_window(cls, since: datetime) -> datetime:
        now = datetime.now(UTC)
        if not now - MAX_STATS_WINDOW <= since <= now:
            raise ValueError(f"since must be within the last {MAX_STATS_WINDOW.days} days")
        return since


def before_id(request: Request) -> int | None:
    """The ``before`` query parameter (a letter id: the page of older letters), or None;
    422 when it is not a positive whole number."""
    raw = request.query_params.get("before")
    if raw is None:
        return None
    before = whole_number(raw, MAX_BIGINT)
    if before is None or before < 1:
        raise HttpError(422, "invalid_before", f"before must be a letter id, not {raw!r}.")
    return before


def dead_letter_json(letter: DeadLetter) -> dict[str, JsonValue]:
    return {
        "id": letter.id,
        "queue": letter.queue,
        "topic": letter.topic,
        "message_id": letter.message_id,
        "order_id": letter.order_id,
        "reason": letter.reason,
        "error": letter.error,
        "attempts": letter.attempts,
        "first_failed_at": letter.first_failed_at.isoformat(),
        "last_failed_at": letter.last_failed_at.isoformat(),
        "parked_at": letter.parked_at.isoformat(),
        "replayed_at": letter.replayed_at.isoformat() if letter.replayed_at else None,
        "replay_count": letter.replay_count,
    }


def replay_force(request: Request) -> bool:
    """The ``force`` query parameter of a replay: ``true`` replays a letter already
    replayed; absent or ``false`` refuses it; anything else is 422 ``invalid_force``."""
    raw = request.query_params.get("force", "false")
    if raw not in ("true", "false"):
        raise HttpError(422, "invalid_force", f"force must be true or false, not {raw!r}.")
    return raw == "true"


def dead_letter_routes(store: DeadLetterStore, publisher: BusPublisher) -> list[Route]:
    """``GET /internal/dead-letters`` and ``POST /internal/dead-letters/{id}/replay``
    (``?force=true`` to replay a letter already replayed)."""

    async def listing(request: Request) -> Response:
        include = request.query_params.get("include_replayed") == "true"
        letters = await store.list(
            include_replayed=include, limit=page_limit(request), before=before_id(request)
        )
        return JSONResponse({"items": [dead_letter_json(letter) for letter in letters]})

    async def replay(request: Request) -> Response:
        letter_id: int = request.path_params["letter_id"]
        try:
            if letter_id > MAX_BIGINT:  # no row has it, and the database cannot compare it
                raise DeadLetterNotFound(letter_id)
            letter = await store.replay(letter_id, publisher, force=replay_force(request))
        except DeadLetterNotFound as exc:
            raise HttpError(404, "dead_letter_not_found", str(exc)) from None
        except DeadLetterAlreadyReplayed as exc:
            raise HttpError(409, "dead_letter_already_replayed", str(exc)) from None
        logger.info("dead letter replayed", extra={"letter_id": letter.id})
        return JSONResponse(dead_letter_json(letter))

    return [
        Route("/internal/dead-letters", listing, methods=["GET"]),
        Route("/internal/dead-letters/{letter_id:int}/replay", replay, methods=["POST"]),
    ]
