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

A claim is committed before the action runs, so a second instance sees it at once and no
database connection is held while waiting. When the action fails without an answer worth
keeping (an exception, a 5xx: nothing is known to have happened) the claim is dropped, so
the caller may retry with the same key. If the process dies mid-action the claim stays
unanswered: repeats are told 409 ``idempotency_key_in_progress`` until the key expires,
never run a second time (the operator asks again with a new key, having looked).

Keys expire after the runtime's ``idempotency_key_hours`` and are swept by every
service's runtime.
"""

import asyncio
import hashlib
import inspect
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bitloot_runtime.http import HttpError, error_response
from bitloot_runtime.tables import idempotency_keys

logger = logging.getLogger(__name__)

INTERNAL_PREFIX = "/internal/"
IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Printable ASCII without spaces, as an HTTP header carries it: a UUID, a ULID, a hash.
_KEY_PATTERN = re.compile(r"[!-~]{8,200}")
# How long a repeat waits for the first request's answer before being told to try later.
WAIT_SECONDS = 30.0
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


def new_key() -> str:
    """A new random key: one per intended action (an admin form, a call)."""
    return str(uuid4())


def valid_key(raw: str | None) -> str | None:
    """`raw` if it is a usable key (8-200 printable ASCII characters), else None."""
    return raw if raw is not None and _KEY_PATTERN.fullmatch(raw) else None


def fingerprint(action: str, body: bytes) -> str:
    return hashlib.sha256(action.encode() + b"\n" + body).hexdigest()


class IdempotencyStore:
    """Claims, answers and sweeps the keys of one service's `idempotency_keys` table."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        ttl: timedelta = timedelta(hours=24),
        wait_seconds: float = WAIT_SECONDS,
    ) -> None:
        self._sessionmaker = sessionmaker
        self.ttl = ttl
        self._wait_seconds = wait_seconds

    async def claim(self, key: str, action: str, print_: str) -> Answer | None:
        """None when this request now owns `key` (run the action, then `answer` or
        `release`); the first answer when the key was already used for this request.
        `HttpError` 422 for another request's key, 409 while its first use still runs."""
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
                row = (
                    (
                        await session.execute(
                            select(idempotency_keys).where(idempotency_keys.c.key == key)
                        )
                    )
                    .mappings()
                    .first()
                )
            if row is None:  # answered and swept, or released, in between: claim again
                continue
            if row["action"] != action or row["fingerprint"] != print_:
                raise HttpError(
                    422,
                    "idempotency_key_reused",
                    "This Idempotency-Key was used for another request; use a new key.",
                )
            if row["status"] is not None:
                return Answer(row["status"], row["body"], row["content_type"])
            if loop.time() >= deadline:
                raise HttpError(
                    409,
                    "idempotency_key_in_progress",
                    "The first request with this Idempotency-Key has not finished; "
                    "ask again later for its answer.",
                )
            await asyncio.sleep(pause)
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
                    answered_at=datetime.now(UTC),
                )
            )

    async def release(self, key: str) -> None:
        """Forget an unanswered claim (the action failed): the key may be used again."""
        async with self._sessionmaker() as session, session.begin():
            await session.execute(
                delete(idempotency_keys).where(
                    idempotency_keys.c.key == key, idempotency_keys.c.status.is_(None)
                )
            )

    async def sweep(self, now: datetime | None = None) -> int:
        """Delete the keys claimed longer than the TTL ago; how many."""
        cutoff = (now or datetime.now(UTC)) - self.ttl
        async with self._sessionmaker() as session, session.begin():
            result = await session.execute(
                delete(idempotency_keys).where(idempotency_keys.c.created_at < cutoff)
            )
        return int(getattr(result, "rowcount", 0))

    async def sweep_forever(self, interval: float = SWEEP_INTERVAL_SECONDS) -> None:
        """`sweep` every `interval` seconds; a failed pass is logged and the next one runs."""
        while True:
            try:
                swept = await self.sweep()
            except Exception as exc:
                logger.warning("idempotency key sweep failed", extra={"error": type(exc).__name__})
            else:
                if swept:
                    logger.info("idempotency keys swept", extra={"keys": swept})
            await asyncio.sleep(interval)


def keyed_routes(store: IdempotencyStore, routes: Sequence[BaseRoute]) -> list[BaseRoute]:
    """`routes`, each ``POST`` under ``/internal/`` (the admin's actions) made `idempotent`."""
    return [_keyed(store, route) for route in routes]


def _keyed(store: IdempotencyStore, route: BaseRoute) -> BaseRoute:
    if not (
        isinstance(route, Route)
        and route.path.startswith(INTERNAL_PREFIX)
        and "POST" in (route.methods or ())
        and inspect.isfunction(route.endpoint)
    ):
        return route
    return Route(
        route.path,
        idempotent(store, route.endpoint),
        methods=list(route.methods or ()),
        name=route.name,
    )


def idempotent(store: IdempotencyStore, endpoint: Endpoint) -> Endpoint:
    """`endpoint`, answered once per ``Idempotency-Key`` (see the module's docstring).

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
        return await run_once(store, key, request, endpoint)

    return wrapped


async def _body(request: Request) -> bytes:
    """The body, kept for the action to read again; 413 past `MAX_KEYED_BODY` declared."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_KEYED_BODY:
        raise HttpError(413, "body_too_large", f"The body exceeds {MAX_KEYED_BODY} bytes.")
    return await request.body()


async def run_once(store: IdempotencyStore, key: str, request: Request, act: Endpoint) -> Response:
    """Run `act(request)` once for `key`; a repeat of the same request gets its answer."""
    action = f"{request.method} {request.url.path}"
    first = await store.claim(key, action, fingerprint(action, await _body(request)))
    if first is not None:
        headers = {REPLAYED_HEADER: "true"}
        return Response(first.body, first.status, headers, media_type=first.content_type)
    token = current_key.set(key)
    try:
        try:
            response = await act(request)
        except HttpError as exc:
            response = error_response(exc)
    except BaseException:
        await store.release(key)
        raise
    finally:
        current_key.reset(token)
    if response.status_code >= 500:
        await store.release(key)
        return response
    content_type = response.headers.get("content-type")
    await store.answer(key, Answer(response.status_code, bytes(response.body), content_type))
    return response
