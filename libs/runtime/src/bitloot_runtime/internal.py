"""The internal API: read-only views (and a few repairs) each service offers the admin
service under ``/internal/``, guarded by a service token that customers never hold.

Every request to ``/internal/*`` must carry ``Authorization: Bearer <token>`` with the
current or the previous internal token; anything else is answered 401 and logged.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field, JsonValue, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
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
    QueryFlag,
    QueryModel,
    error_response,
    parse_query,
)
from bitloot_runtime.openapi import ApiRoute
from bitloot_runtime.paging import Page, PageQuery, encode_cursor
from bitloot_runtime.publisher import BusPublisher
from bitloot_runtime.signatures import matches_any

logger = logging.getLogger(__name__)

PREFIX = "/internal/"
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


class DeadLetterItem(BaseModel):
    """A parked message as the listing and a replay answer it (its body and headers are
    not shown)."""

    id: int
    queue: str
    topic: str
    message_id: str
    order_id: str | None
    reason: str
    error: str
    attempts: int
    first_failed_at: Moment
    last_failed_at: Moment
    parked_at: Moment
    replayed_at: Moment | None
    replay_count: int


def dead_letter_json(letter: DeadLetter) -> dict[str, JsonValue]:
    fields = {name: getattr(letter, name) for name in DeadLetterItem.model_fields}
    return DeadLetterItem(**fields).model_dump(mode="json")


class DeadLetterQuery(PageQuery):
    include_replayed: QueryFlag = Field(False, description="Also letters replayed since.")


class ReplayQuery(QueryModel):
    force: QueryFlag = Field(False, description="Replay a letter already replayed, once more.")


@dataclass(frozen=True)
class ParkedMessages:
    """What the dead-letter endpoints read from the app state (`create_app` sets it)."""

    store: DeadLetterStore
    publisher: BusPublisher


def _parked(request: Request) -> ParkedMessages:
    parked: ParkedMessages = request.app.state.parked_messages
    return parked


async def list_dead_letters(request: Request) -> Response:
    query = parse_query(DeadLetterQuery, request)
    match query.cursor:
        case None:
            before = None
        case [int(before)] if 0 < before <= MAX_BIGINT:
            pass
        case _:
            raise HttpError(422, "invalid_cursor", "cursor is not one this API returned.")
    letters = await _parked(request).store.list(
        include_replayed=query.include_replayed, limit=query.limit, before=before
    )
    more = len(letters) == query.limit
    items = [dead_letter_json(letter) for letter in letters]
    return JSONResponse({"items": items, "next": encode_cursor(letters[-1].id) if more else None})


async def replay_dead_letter(request: Request) -> Response:
    letter_id: int = request.path_params["letter_id"]
    force = parse_query(ReplayQuery, request).force
    parked = _parked(request)
    try:
        if letter_id > MAX_BIGINT:  # no row has it, and the database cannot compare it
            raise DeadLetterNotFound(letter_id)
        letter = await parked.store.replay(letter_id, parked.publisher, force=force)
    except DeadLetterNotFound as exc:
        raise HttpError(404, "dead_letter_not_found", str(exc)) from None
    except DeadLetterAlreadyReplayed as exc:
        raise HttpError(409, "dead_letter_already_replayed", str(exc)) from None
    logger.info("dead letter replayed", extra={"letter_id": letter.id})
    return JSONResponse(dead_letter_json(letter))


DEAD_LETTER_ROUTES = [
    ApiRoute(
        "/internal/dead-letters",
        list_dead_letters,
        summary="Parked messages of this service, newest (highest id) first.",
        response=Page[DeadLetterItem],
        query=DeadLetterQuery,
    ),
    ApiRoute(
        "/internal/dead-letters/{letter_id:int}/replay",
        replay_dead_letter,
        method="POST",
        summary="Send a parked message back to its queue, once: a letter already replayed "
        "and not parked again since is refused unless `force=true`.",
        response=DeadLetterItem,
        success="The replayed letter.",
        query=ReplayQuery,
        refusals={
            "404": "No such letter (`dead_letter_not_found`).",
            "409": "Already replayed and not parked again (`dead_letter_already_replayed`); "
            "send `force=true` to replay it once more.",
        },
    ),
]
