"""Database access: one engine per service, one unit of work per message or request,
the service's database created if missing and migrated with Alembic at start-up."""

import asyncio
import contextlib
import functools
import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

from bitloot_contracts.events import Event
from bitloot_runtime.errors import TransientError
from bitloot_runtime.telemetry import outgoing_traceparent

logger = logging.getLogger(__name__)

# Called with an event its unit of work queued, after that unit committed.
EventObserver = Callable[[Event], None]


class Work(Protocol):
    """What a use case may do with its transaction besides its repositories: the port
    each service's own unit of work (`<Service>Work`, which adds the repositories) extends.
    `UnitOfWork` is the real one; `bitloot_testing.fakes.FakeWork` the in-memory one that
    handler tests of business rules run on.

    Handlers never see a session or a connection: every statement lives in a repository
    the unit of work hands out, so the fakes can stand in for all of them."""

    async def __aenter__(self) -> Self:
        """Begin: a use case that opens its own units of work uses each in `async with`."""

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """End: everything not committed is rolled back."""

    async def emit(self, event: Event) -> None:
        """Queue `event` for publication once this unit of work commits."""

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback()` once, right after the next successful `commit()`."""

    async def commit(self) -> None:
        """Make everything done in this unit of work durable, events included."""


OUTBOX_CHANNEL = "bitloot_outbox"
# SQLSTATE classes of failures that say nothing about the work itself: connection
# exceptions (08), transaction rollbacks such as serialization failures and deadlocks
# (40), insufficient resources (53) and operator intervention (57: a cancelled
# statement, a server shutting down or restarting).
_TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57"})
# Lock not available, object in use.
_TRANSIENT_SQLSTATES = frozenset({"55P03", "55006"})
RUNTIME_VERSIONS = Path(__file__).parent / "migrations" / "versions"
_MIGRATIONS = Path(__file__).parent / "migrations"


def create_engine(url: str, *, max_connections: int = 16) -> AsyncEngine:
    """The service's engine; built in the app factory, never at import.

    No `pool_pre_ping`: it costs a round trip on every checkout (about 20 per order in
    fulfilment alone, with the outbox relay and the timers; bench/README.md). A connection
    that died with the server fails its first statement instead, SQLAlchemy then discards
    the whole pool, and that one message is retried like any transient error (a request
    is answered 503 with ``Retry-After``: `bitloot_runtime.http`).

    Up to `max_connections` connections, all of them kept once opened (no overflow): an
    overflow connection is closed when it is returned to a full pool, and a consumer with
    more messages in hand than the pool's size (the prefetch is 16) then opened and closed
    a connection for nearly every message under load — a TCP connect, an SSL attempt, the
    start-up and the dialect's codecs each time, a sixth of a consumer's CPU. A service
    holds at most `max_connections` and no longer lets go of them between peaks, so the
    services sharing one PostgreSQL server must fit their sum (plus the outbox listeners
    and the Kinguin limiter) under its `max_connections`: `<SVC>_DATABASE_MAX_CONNECTIONS`.

    `hide_parameters`: a failing statement's error (and so its logged traceback) would
    otherwise quote the bound values — IPN bodies, customer emails, sealed keys.
    """
    return _create_async_engine(
        url, pool_size=max_connections, max_overflow=0, hide_parameters=True
    )


def _causes(error: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        cause = pending.pop()
        if cause is None or id(cause) in seen:
            continue
        seen.add(id(cause))
        yield cause
        orig = getattr(cause, "orig", None)
        pending += [cause.__cause__, cause.__context__]
        if isinstance(orig, BaseException):
            pending.append(orig)


def is_transient(error: BaseException) -> bool:
    """Whether `error` (or what caused it) is the database or the network failing for a
    moment rather than the work being wrong: a lost or refused connection, a cancelled
    statement, a serialization failure or deadlock, a server restarting, a timeout. The
    same work done again later may succeed, so it must be retried, never given up on."""
    for cause in _causes(error):
        if isinstance(cause, TransientError | OSError | TimeoutError | PoolTimeout):
            return True
        if isinstance(cause, DBAPIError) and cause.connection_invalidated:
            return True
        sqlstate = getattr(cause, "sqlstate", None)
        if isinstance(sqlstate, str) and (
            sqlstate[:2] in _TRANSIENT_SQLSTATE_CLASSES or sqlstate in _TRANSIENT_SQLSTATES
        ):
            return True
    return False


def asyncpg_dsn(url: str) -> str:
    """The plain libpq DSN asyncpg wants, from a SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def ensure_database(url: str) -> None:
    """Create the URL's database if it does not exist (several instances may race)."""
    parsed = make_url(url)
    name = parsed.database
    if not name:
        raise ValueError(f"Database URL {parsed!r} names no database.")
    admin = await asyncpg.connect(asyncpg_dsn(str(parsed.set(database="postgres"))))
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            quoted = '"' + name.replace('"', '""') + '"'
            # Another instance may create it between our check and our CREATE; PostgreSQL
            # reports that as either error, depending on how far its CREATE had got.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                await admin.execute(f"CREATE DATABASE {quoted}")
    finally:
        await admin.close()


def alembic_config(url: str, metadata: MetaData, version_locations: list[Path]) -> Config:
    """An Alembic configuration for one service: the runtime's revisions plus its own."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    locations = [str(RUNTIME_VERSIONS), *(str(p) for p in version_locations)]
    config.set_main_option("version_locations", " ".join(locations))
    config.set_main_option("path_separator", "space")
    config.attributes["url"] = url
    config.attributes["metadata"] = metadata
    return config


async def migrate(url: str, metadata: MetaData, version_locations: list[Path]) -> None:
    """Create the database if missing and upgrade it to every head."""
    await ensure_database(url)
    config = alembic_config(url, metadata, version_locations)
    # Alembic's env.py drives its own event loop; give it a thread of its own.
    await asyncio.to_thread(_upgrade, config)


# Alembic keeps the running migration in module globals, so two threads of one process
# (several services in one process, as in the demo) must take turns; separate processes
# are serialised by the advisory lock in env.py instead.
_alembic_lock = threading.Lock()


def _upgrade(config: Config) -> None:
    with _alembic_lock:
        command.upgrade(config, "heads")


# The hot path's statements, as the driver prepares them (asyncpg keeps each prepared
# form per connection, by its text). Emitting wakes the relay in the same statement:
# NOTIFY is transactional, so PostgreSQL delivers it when (and only when) the
# transaction commits, and several in one transaction arrive as one.
_EMIT = (
    "INSERT INTO outbox (event_id, topic, order_id, body, headers)"
    " VALUES ($1, $2, $3, $4, $5) RETURNING pg_notify('bitloot_outbox', '')"  # OUTBOX_CHANNEL
)
_CLAIM = (
    "INSERT INTO inbox (consumer, message_id) VALUES ($1, $2)"
    " ON CONFLICT DO NOTHING RETURNING message_id"
)


def outbox_insert(first: int, *, only_if: str | None = None) -> str:
    """Plain SQL that queues events for publication like `UnitOfWork.emit`, all of them
    in one statement: an INSERT of outbox rows from five array parameters, ``$first`` to
    ``$first + 4`` (`outbox_arrays`), in their order, waking the relay on commit; only
    if the SQL condition `only_if` holds, when given. For a statement that writes a
    state change and its events at once, in one round trip: its main statement after
    the state change's data-modifying CTEs (``WITH ... INSERT INTO outbox ...``), or a
    CTE itself (PostgreSQL runs every data-modifying CTE to completion, RETURNING and
    so the wake-up included, whether or not the main statement reads it). The text is
    the same whatever the number of events, so it is prepared once."""
    p = [f"${first + n}" for n in range(5)]
    where = f" WHERE {only_if}" if only_if else ""
    return (
        "INSERT INTO outbox (event_id, topic, order_id, body, headers)"  # noqa: S608
        " SELECT e.event_id, e.topic, e.order_id, e.body, e.headers::jsonb FROM unnest("
        f"{p[0]}::uuid[], {p[1]}::text[], {p[2]}::uuid[], {p[3]}::bytea[], {p[4]}::text[])"
        f" WITH ORDINALITY AS e(event_id, topic, order_id, body, headers, n){where}"
        f" ORDER BY e.n RETURNING pg_notify('{OUTBOX_CHANNEL}', '')"
    )


def outbox_arrays(events: Sequence[Event]) -> list[list[Any]]:
    """The five array parameters of `outbox_insert` for `events`, in order."""
    arrays: list[list[Any]] = [[], [], [], [], []]
    for event in events:
        for array, value in zip(arrays, _outbox_row(event), strict=True):
            array.append(value)
    return arrays


def _outbox_row(event: Event) -> tuple[Any, str, Any, bytes, str]:
    """What the outbox stores of `event`: it travels with a child of the current trace."""
    headers = {"traceparent": outgoing_traceparent()}
    body = event.model_dump_json().encode()
    return event.event_id, event.topic, event.order_id, body, json.dumps(headers)


def _engine_of(source: AsyncEngine | async_sessionmaker[AsyncSession]) -> AsyncEngine:
    if isinstance(source, AsyncEngine):
        return source
    bind = source.kw.get("bind")
    if isinstance(bind, AsyncEngine):
        return bind
    raise TypeError("UnitOfWork needs an AsyncEngine or a sessionmaker bound to one.")


async def driver_of(source: AsyncConnection | AsyncSession) -> "asyncpg.Connection[Any]":
    """The asyncpg connection under a SQLAlchemy connection or session, inside its
    transaction (begun now, as `UnitOfWork.driver()` begins it, if nothing has begun it
    yet), so that SQLAlchemy's commit or rollback ends what was done through it: for a
    repository handed a connection or a session rather than the unit of work."""
    connection = await source.connection() if isinstance(source, AsyncSession) else source
    if not connection.in_transaction():
        await connection.begin()
    proxied = await connection.get_raw_connection()
    adapter: Any = proxied.dbapi_connection
    driver: asyncpg.Connection[Any] = proxied.driver_connection
    if adapter._transaction is None:
        await _begin_on_driver(connection, adapter, driver)
    return driver


async def _begin_on_driver(
    connection: AsyncConnection, adapter: Any, driver: "asyncpg.Connection[Any]"
) -> None:
    """Begin the transaction on the driver through SQLAlchemy's asyncpg adapter (which
    holds it as `_transaction`, and which its own first statement would begin the same
    way). A connection that died in the pool fails here, outside SQLAlchemy's execution,
    which would have noticed the disconnect: it is discarded, or every unit of work given
    it next would fail the same way. So is one whose BEGIN failed or was cancelled before
    its answer: asyncpg keeps that transaction as the connection's (`UnitOfWork.__aexit__`)."""
    try:
        await adapter._start_transaction()
    except BaseException:
        if driver.is_closed() or driver._top_xact is not None:
            await connection.invalidate()
        raise


class UnitOfWork:
    """One database transaction for one message or request.

    Events emitted through it go to the outbox in the same transaction as the state
    change, and the relay is woken by NOTIFY when (and only when) that transaction commits.
    Leaving the block without `commit()` rolls everything back.

    Two ways into the one transaction, on one connection:

    - `session`: a SQLAlchemy Core connection, for statements built with SQLAlchemy;
    - `driver()`: the same connection's asyncpg connection, for the hot path's statements
      as plain SQL with `$n` parameters. asyncpg prepares each text once per connection;
      no statement is compiled, coerced or wrapped per call (bench/micro_uow.py measures
      both against a bare asyncpg unit of work). JSON and JSONB parameters are passed as
      JSON text, and read back decoded (the dialect's codecs on every pooled connection).

    The transaction is SQLAlchemy's dialect's, begun on the driver by whichever way is
    used first, so statements of both kinds commit or roll back together (tests:
    libs/runtime/tests/test_unit_of_work.py). It is built from the engine, or from a
    sessionmaker bound to one (only its engine is used).

    Only the checkout from the pool goes through SQLAlchemy's asyncio bridge (a greenlet,
    whose frame stack is mapped and unmapped each time: two system calls and a page
    fault). SQLAlchemy's side of beginning and committing sends nothing on asyncpg (the
    adapter begins on the first statement, and the driver's transaction is committed
    here first), and returning a connection with no transaction open awaits nothing, so
    those run as plain calls: a unit of work on the driver alone costs one greenlet
    instead of five, and a consumed message about 140 µs less CPU (of ~790). Anything else
    — a transaction left open, a connection that died — closes through the bridge as
    before.
    """

    __slots__ = (
        "_adapter",
        "_after_commit",
        "_connection",
        "_driver",
        "_engine",
        "_observers",
        "_sync",
    )

    def __init__(
        self,
        source: AsyncEngine | async_sessionmaker[AsyncSession],
        observers: Mapping[str, Sequence[EventObserver]] | None = None,
    ) -> None:
        """`observers`: by topic, what is called with each event of that topic the unit
        queues, once it commits (`ServiceRuntime.on_event`: business metrics)."""
        self._engine = _engine_of(source)
        self._after_commit: list[Callable[[], None]] = []
        self._observers = observers or {}

    @property
    def session(self) -> AsyncConnection:
        """The unit of work's SQLAlchemy connection; its transaction is this unit's."""
        return self._connection

    async def __aenter__(self) -> Self:
        connection = await self._engine.connect()
        try:
            sync = connection.sync_connection
            assert sync is not None  # connected just now
            # Begun here rather than by the first statement, so that `commit()` and a
            # `session.rollback()` reach the driver's transaction even when every
            # statement went through `driver()`. On asyncpg this is bookkeeping only.
            sync.begin()
            proxied = sync.connection  # checked out just now: no reconnection to await
        except BaseException:
            await connection.close()
            raise
        self._connection = connection
        self._sync = sync
        # SQLAlchemy's asyncpg adapter: it holds the driver's transaction (`_transaction`)
        # and begins it on the first statement; `driver()` begins it the same way.
        self._adapter: Any = proxied.dbapi_connection
        self._driver: asyncpg.Connection = proxied.driver_connection
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._driver.is_closed() or (
            exc_type is not None and not issubclass(exc_type, Exception)
        ):
            # The server or the network ended it under the driver: there is nothing to
            # roll back (a rollback would raise over the error that brought us here).
            # Or the unit was cancelled (a shutdown, a deadline around it) while its
            # BEGIN, a statement or its COMMIT may have been unanswered: what the driver
            # holds is not known (after a cut COMMIT it may refuse the next BEGIN, after
            # a cut BEGIN (`_begin_on_driver`) it would begin the next unit's as a
            # SAVEPOINT whose commit, a RELEASE, is lost). Either way the connection must
            # not go back to the pool: SQLAlchemy discards one that an exit exception
            # left behind in its own statements too.
            await self._connection.invalidate()
        elif self._adapter._transaction is None and not self._sync.in_transaction():
            # Committed (or never begun): back to the pool with nothing to roll back,
            # which awaits nothing.
            self._sync.close()
            return
        # Closing a connection rolls back whatever was not committed.
        await self._connection.close()

    async def driver(self) -> "asyncpg.Connection[Any]":
        """The asyncpg connection, inside this unit of work's transaction (begun now if no
        statement has begun it yet)."""
        if self._adapter._transaction is None:
            await _begin_on_driver(self._connection, self._adapter, self._driver)
        return self._driver

    async def emit(self, event: Event) -> None:
        """Queue `event` for publication once this unit of work commits."""
        driver = await self.driver()
        await driver.fetchval(_EMIT, *_outbox_row(event))
        self.observe((event,))

    def observe(self, events: Iterable[Event]) -> None:
        """Have the observers of their topics called with `events` once this unit of work
        commits: for events queued into the outbox by a statement of the caller's own
        (`outbox_arrays`) rather than by `emit`, which calls this itself."""
        for event in events:
            for observer in self._observers.get(event.topic, ()):
                self._after_commit.append(functools.partial(observer, event))

    async def claim(self, consumer: str, message_id: str) -> bool:
        """Record that `consumer` processed `message_id`; False if it already had.

        A concurrent claim of the same message blocks on the primary key until the first
        transaction ends, so only one of two racing consumers ever gets True.
        """
        driver = await self.driver()
        return await driver.fetchval(_CLAIM, consumer, message_id) is not None

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Call `callback()` once, right after the next successful `commit()`; never if
        the unit of work ends without committing (a handler that fails and is retried, a
        request that errs). For counting a business fact once, when the transaction
        recording it commits. A callback that raises is logged, and the others still run.
        A caller that rolls its session back and goes on in the same unit of work
        registers its callbacks after the rollback: they are not cleared by it."""
        self._after_commit.append(callback)

    async def commit(self) -> None:
        """Commit everything done through `session` and `driver()`. After a
        `session.rollback()` the unit of work goes on in a new transaction.

        The driver's transaction is committed by the driver itself, as SQLAlchemy's
        adapter would (a failure raises the driver's error, as a statement through
        `driver()` does); SQLAlchemy's own transaction is then closed, which sends
        nothing more. A transaction SQLAlchemy holds inactive (after a failure it must see
        rolled back first) is left to SQLAlchemy, which refuses to commit it, as before."""
        own = self._sync.get_transaction()
        if own is not None and not own.is_active:
            await self._connection.commit()
        else:
            transaction = self._adapter._transaction
            if transaction is not None:
                await self._adapter._call_and_discard(transaction.commit)
            if self._sync.in_transaction():
                self._sync.commit()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                logger.exception("an after-commit callback failed")


UnitOfWorkT = TypeVar("UnitOfWorkT", bound=UnitOfWork)


async def ping(engine: AsyncEngine) -> None:
    """A readiness check: the database answers a query."""
    async with engine.connect() as connection:
        await connection.execute(select(1))
