"""Idempotency keys: a repeated repair request has one effect and one answer.

Every ``POST /internal/*`` of a service (the admin's repair actions: replays, retries,
resends, links, decisions) is wrapped by `idempotent` in `bitloot_runtime.app.create_app`.
An action endpoint wrapped by `idempotent` and called with an ``Idempotency-Key`` header
claims that key in the service's `idempotency_keys` table (one row per key: the action,
a fingerprint of the request, and once it ended the answer's status and body). Whoever
inserts the row runs the action; every other request with that key — at the same time
on any instance, or later — waits for the answer and gets the same status and body, with
``Idempotent-Replayed: true``, and no second effect. The same key sent with another
action or another body is refused 422 ``idempotency_key_reused``.

Keys are scoped by the caller (the admin named by ``X-Bitloot-Actor``, or at the admin
the logged-in admin): one caller's key never answers another. The action is the method,
path and sorted query. A repeat gets the first status, body and end-to-end headers (never
``Set-Cookie`` nor hop-by-hop headers); an answer sent ``Cache-Control: no-store`` (a
reveal link) is a secret and only its status is kept: a repeat gets that status and
``{"error": "answer_not_kept"}``.

A claim is committed before the action runs, so a second instance sees it at once and no
database connection is held while waiting. Only a failure known not to have acted (an
`HttpError` 5xx raised, or a 503 answer) drops the claim, so the caller may retry with
the same key. Any other failure (another 5xx, an exception, a cancellation) may have
acted: the claim is kept in doubt and logged, and every repeat (waiting ones included) is
told 409 ``idempotency_key_in_doubt``, never run a second time. If the process dies
mid-action the claim stays unanswered: repeats are told 409 ``idempotency_key_in_progress``
the same way (the operator looks, then asks again with a new key).

Answered keys expire after the runtime's ``idempotency_key_hours`` (from their answer);
unanswered ones after the longer ``idempotency_doubt_hours``, each logged when swept.
"""

import asyncio
import hashlib
import inspect
import json
import logging
import random
import re
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode
from uuid import uuid4

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bitloot_runtime.http import HttpError, error_response
from bitloot_runtime.http import read_body as read_bounded
from bitloot_runtime.tables import idempotency_keys
from bitloot_runtime.worker import Worker

logger = logging.getLogger(__name__)

INTERNAL_PREFIX = "/internal/"
IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# The admin an admin's request to a service acts for: the scope of its keys.
ACTOR_HEADER = "X-Bitloot-Actor"
# The body a repeat gets in place of an answer that was not to be stored.
ANSWER_NOT_KEPT = "answer_not_kept"
_NO_STORE = (("cache-control", "no-store"),)
# Headers of one connection or one client (hop-by-hop, cookies) or made again for the
# replayed body: never replayed.
_NOT_REPLAYED = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "set-cookie",
        "content-length",
        "content-type",
        "date",
        "server",
    }
)
# The statuses an action answers to say it did not act (a dependency it checks first is
# down): the key is freed. Any other 5xx leaves it in doubt.
NOT_APPLIED = frozenset({503})
# Printable ASCII without spaces, as an HTTP header carries it: a UUID, a ULID, a hash.
_KEY_PATTERN = re.compile(r"[!-~]{8,200}")
# How long a repeat waits for the first request's answer before being told 409 to ask
# later: below the admin's upstream timeout (3 s), so the admin hears the 409 rather
# than giving up on the service.
WAIT_SECONDS = 2.0
SWEEP_INTERVAL_SECONDS = 600.0
# The largest action body fingerprinted (a hand delivery's sealed keys are the largest).
MAX_KEYED_BODY = 1024 * 1024

Endpoint = Callable[[Request], Awaitable[Response]]

# The key of the request being served, for a client that passes it on (the admin to the
# service it asks): set by `idempotent` for the action's duration.
current_key: ContextVar[str | None] = ContextVar("bitloot_idempotency_key", default=None)


@dataclass(frozen=True)
class Answer:
    """The first answer to a key: what every repeat gets."""

    status: int
    body: bytes
    content_type: str | None
    headers: tuple[tuple[str, str], ...] = ()


def new_key() -> str:
    """A new random key: one per intended action (an admin form, a call)."""
    return str(uuid4())


def valid_key(raw: str | None) -> str | None:
    """`raw` if it is a usable key (8-200 printable ASCII characters), else None."""
    return raw if raw is not None and _KEY_PATTERN.fullmatch(raw) else None


def fingerprint(action: str, body: bytes) -> str:
    return hashlib.sha256(action.encode() + b"\n" + body).hexdigest()


def scoped(scope: str, key: str) -> str:
    """The stored key: `key` within its caller's `scope` (a key has no spaces, so the two
    never run together), so one caller's key never answers another caller."""
    return f"{scope} {key}"


def action_of(request: Request) -> str:
    """The method, path and sorted query: ``?force=true`` is another request."""
    action = f"{request.method} {request.url.path}"
    query = sorted(request.query_params.multi_items())
    return f"{action}?{urlencode(query)}" if query else action


class IdempotencyStore:
    """Claims, answers and sweeps the keys of one service's `idempotency_keys` table."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        ttl: timedelta = timedelta(hours=24),
        doubt_ttl: timedelta = timedelta(days=7),
        wait_seconds: float = WAIT_SECONDS,
    ) -> None:
        self._sessionmaker = sessionmaker
        self.ttl = ttl
        self.doubt_ttl = max(doubt_ttl, ttl)
        self._wait_seconds = wait_seconds

    async def claim(self, key: str, action: str, print_: str) -> Answer | None:
        """None when this request now owns `key` (run the action, then `answer`, `release`
        or `doubt`); the first answer when the key was already used for this request.
        `HttpError` 422 for another request's key, 409 while its first use still runs
        (``idempotency_key_in_progress``) or when it ended in doubt
        (``idempotency_key_in_doubt``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait_seconds
        pause = 0.02
        while True:
            async with self._sessionmaker() as session, session.begin():
                claimed = (
                    pg_insert(idempotency_keys)
                    .values(key=key, action=action, fingerprint=print_)
                    .on_conflict_do_nothing(index_elements=[idempotency_keys.c.key])
                    .returning(idempotency_keys.c.key)
                )
                inserted = await session.execute(claimed)
                if inserted.first() is not None:
                    return None
                found = select(idempotency_keys).where(idempotency_keys.c.key == key)
                row = (await session.execute(found)).mappings().first()
            if row is None:  # answered and swept, or released, in between: claim again
                continue
            if row["action"] != action or row["fingerprint"] != print_:
                raise HttpError(
                    422,
                    "idempotency_key_reused",
                    "This Idempotency-Key was used for another request; use a new key.",
                )
            if row["status"] is not None:
                headers = tuple(tuple(pair) for pair in json.loads(row["headers"] or "[]"))
                return Answer(row["status"], row["body"], row["content_type"], headers)
            if row["doubted_at"] is not None:
                raise HttpError(
                    409,
                    "idempotency_key_in_doubt",
                    "The first request with this Idempotency-Key failed after it may have "
                    "acted; it is not run again. Look at what it was to act on, then ask "
                    "again with a new key if it is still needed.",
                )
            if loop.time() >= deadline:
                raise HttpError(
                    409,
                    "idempotency_key_in_progress",
                    "The first request with this Idempotency-Key has not finished; "
                    "ask again later for its answer.",
                )
            await asyncio.sleep(pause * random.uniform(0.5, 1.5))
            pause = min(pause * 2, 0.25)

    async def answer(self, key: str, answer: Answer) -> None:
        """Keep `answer` as the one every repeat of `key` gets."""
        async with self._sessionmaker() as session, session.begin():
            await session.execute(
                update(idempotency_keys)
                .where(idempotency_keys.c.key == key)
                .values(
                    status=answer.status,
                    body=answer.body,
                    content_type=answer.content_type,
                    headers=json.dumps([list(pair) for pair in answer.headers]),
                    answered_at=datetime.now(UTC),
                )
            )

    async def release(self, key: str) -> None:
        """Forget an unanswered claim whose action is known not to have acted: the key may
        be used again (a waiting repeat claims it and runs)."""
        async with self._sessionmaker() as session, session.begin():
            await session.execute(
                delete(idempotency_keys).where(
                    idempotency_keys.c.key == key, idempotency_keys.c.status.is_(None)
                )
            )

    async def doubt(self, key: str, action: str, reason: str) -> None:
        """Mark an unanswered claim in doubt (its action failed after it may have acted):
        kept, never run again; every repeat is told 409 ``idempotency_key_in_doubt``."""
        logger.error(
            "idempotent action in doubt",
            extra={"idempotency_key": key, "action": action, "reason": reason},
        )
        async with self._sessionmaker() as session, session.begin():
            await session.execute(
                update(idempotency_keys)
                .where(idempotency_keys.c.key == key, idempotency_keys.c.status.is_(None))
                .values(doubted_at=datetime.now(UTC))
            )

    async def sweep(self, now: datetime | None = None) -> int:
        """Delete the keys answered longer than the TTL ago, and the unanswered ones (in
        doubt, or whose process died) claimed longer than the in-doubt TTL ago, each of
        those logged for the operator; how many."""
        now = now or datetime.now(UTC)
        async with self._sessionmaker() as session, session.begin():
            answered = await session.execute(
                delete(idempotency_keys).where(
                    idempotency_keys.c.status.is_not(None),
                    idempotency_keys.c.answered_at < now - self.ttl,
                )
            )
            unanswered = (
                await session.execute(
                    delete(idempotency_keys)
                    .where(
                        idempotency_keys.c.status.is_(None),
                        idempotency_keys.c.created_at < now - self.doubt_ttl,
                    )
                    .returning(idempotency_keys.c.key, idempotency_keys.c.action)
                )
            ).all()
        for key, action in unanswered:
            logger.warning(
                "unanswered idempotency key swept: its action may or may not have happened",
                extra={"idempotency_key": key, "action": action},
            )
        return int(getattr(answered, "rowcount", 0)) + len(unanswered)

    def sweeper(self, interval: float = SWEEP_INTERVAL_SECONDS) -> Worker:
        """The worker that runs `sweep` every `interval` seconds; a failed pass is logged
        and the next one runs."""
        return Worker("idempotency-sweep", self._sweep_logged, interval=interval)

    async def _sweep_logged(self) -> None:
        if swept := await self.sweep():
            logger.info("idempotency keys swept", extra={"keys": swept})


def keyed_routes(store: IdempotencyStore, routes: Sequence[BaseRoute]) -> list[BaseRoute]:
    """`routes`, each ``POST`` under ``/internal/`` (the admin's actions) made `idempotent`.
    `TypeError` for such a route whose endpoint is not a function: it would go unkeyed."""
    return [_keyed(store, route) for route in routes]


def _keyed(store: IdempotencyStore, route: BaseRoute) -> BaseRoute:
    if not (
        isinstance(route, Route)
        and route.path.startswith(INTERNAL_PREFIX)
        and "POST" in (route.methods or ())
    ):
        return route
    if not inspect.isfunction(route.endpoint):
        raise TypeError(f"POST {route.path}: an internal action must be a function to be keyed.")
    return Route(
        route.path,
        idempotent(store, route.endpoint),
        methods=list(route.methods or ()),
        name=route.name,
    )


def idempotent(store: IdempotencyStore, endpoint: Endpoint) -> Endpoint:
    """`endpoint`, answered once per ``Idempotency-Key`` (see the module's docstring),
    within the scope of the admin named by ``X-Bitloot-Actor`` (the caller's identity).

    Without the header the request runs as it always did: a caller that sends none (a
    script, a test) gets no protection but keeps working. A malformed key is 400
    ``invalid_idempotency_key``. Refusals (4xx) are kept like successes: the repeat is
    refused the same way without asking again."""

    async def wrapped(request: Request) -> Response:
        raw = request.headers.get(IDEMPOTENCY_HEADER)
        if raw is None:
            return await endpoint(request)
        key = valid_key(raw)
        if key is None:
            detail = "Idempotency-Key must be 8-200 printable ASCII characters (a UUID)."
            raise HttpError(400, "invalid_idempotency_key", detail)
        scope = request.headers.get(ACTOR_HEADER, "")
        return await run_once(store, key, request, endpoint, scope=scope)

    return wrapped


async def read_body(request: Request) -> bytes:
    """The body, kept for the action to read again; 413 past `MAX_KEYED_BODY`, declared
    or sent in chunks."""
    if hasattr(request, "_body"):
        return await request.body()
    request._body = await read_bounded(request, MAX_KEYED_BODY)  # `body()` reads it again
    return request._body


def _kept(response: Response, body: bytes) -> Answer:
    """What a repeat gets: the status, body and end-to-end headers; only the status of an
    answer not to be stored (``Cache-Control: no-store``: a reveal link, a secret)."""
    status = response.status_code
    if "no-store" in response.headers.get("cache-control", "").lower():
        detail = (
            "The answer to this key was given once and not kept (Cache-Control: no-store). "
            "The action is not repeated; ask again with a new key for a new answer."
        )
        refusal = {"error": ANSWER_NOT_KEPT, "detail": detail, "status": status}
        return Answer(status, json.dumps(refusal).encode(), "application/json", _NO_STORE)
    headers = tuple(
        (name, value) for name, value in response.headers.items() if name not in _NOT_REPLAYED
    )
    return Answer(status, body, response.headers.get("content-type"), headers)


def _replayed(first: Answer) -> Response:
    response = Response(first.body, first.status, media_type=first.content_type)
    for name, value in first.headers:
        response.headers.append(name, value)
    response.headers[REPLAYED_HEADER] = "true"
    return response


def _own_status(_request: Request, response: Response) -> int:
    return response.status_code


async def run_once(
    store: IdempotencyStore,
    key: str,
    request: Request,
    act: Endpoint,
    *,
    scope: str,
    verdict: Callable[[Request, Response], int] = _own_status,
) -> Response:
    """Run `act(request)` once for `key` within `scope` (the caller: an admin); a repeat
    of the same request gets its answer. Only a failure known not to have acted frees
    the key (an `HttpError` 5xx raised, or a 503 answer); any other failure, cancellation
    included, leaves the claim in doubt: repeats are refused, never run again. `verdict`
    is the status that decides, when the answer's own is not the action's (an admin page
    showing a service's refusal)."""
    action = action_of(request)
    stored = scoped(scope, key)
    first = await store.claim(stored, action, fingerprint(action, await read_body(request)))
    if first is not None:
        return _replayed(first)
    token = current_key.set(key)
    try:
        response = await act(request)
    except HttpError as exc:
        # Raised rather than answered: refused before acting.
        response = error_response(exc)
        if exc.status >= 500:
            await store.release(stored)
            return response
    except BaseException as exc:
        await _doubt(store, stored, action, type(exc).__name__)
        raise
    finally:
        current_key.reset(token)
    status = verdict(request, response)
    if status in NOT_APPLIED:
        await store.release(stored)
        return response
    if status >= 500:
        await _doubt(store, stored, action, f"http_{status}")
        return response
    body = getattr(response, "body", None)
    if not isinstance(body, bytes):
        await _doubt(store, stored, action, "streamed_answer_cannot_be_kept")
        return response
    await store.answer(stored, _kept(response, body))
    return response


async def _doubt(store: IdempotencyStore, key: str, action: str, reason: str) -> None:
    """`store.doubt`, finished even if this task is being cancelled; a failure is logged
    (the claim then stays unanswered, which repeats also never run again)."""
    try:
        await asyncio.shield(store.doubt(key, action, reason))
    except Exception as exc:
        logger.error(
            "idempotency claim not marked in doubt",
            extra={"idempotency_key": key, "action": action, "error": type(exc).__name__},
        )
