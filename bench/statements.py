"""`python -m bench.statements <module> [args]`: run `<module>` as `python -m` would, counting
every SQL statement its asyncpg connections execute, by first keyword.

This server has no pg_stat_statements (it is not in `shared_preload_libraries`, and loading
it needs a restart), and pg_stat_database counts transactions and tuples, not statements;
so the bench counts them in the client. Every statement of a service goes through asyncpg:
SQLAlchemy's asyncpg driver (prepared statements; BEGIN and COMMIT through
`Connection.execute`) and raw asyncpg alike. The counting wraps asyncpg's Python entry
points (a dictionary increment per statement, well under a microsecond); cursors and COPY
are not counted (no hot path uses them).

On SIGUSR1 the process writes its counts to the file named by `BENCH_STATEMENTS_FILE`
(JSON: `{"sequence": n, "counts": {"SELECT": ..., "COMMIT": ...}}`, replaced atomically);
`snapshot()` asks for and reads it from the bench's side.
"""

import asyncio
import json
import os
import runpy
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sized
from pathlib import Path
from typing import Any

ENV = "BENCH_STATEMENTS_FILE"
# Transaction control: counted apart from the statements that do the work.
CONTROL = frozenset({"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "SAVEPOINT", "RELEASE"})

counts: Counter[str] = Counter()


def keyword(query: str) -> str:
    """The statement's first word, upper-cased (``SELECT``, ``INSERT``, ``BEGIN``, ...)."""
    words = query[:64].split(None, 1)
    return words[0].upper().rstrip(";") if words else ""


def _count(query: str, times: int = 1) -> None:
    counts[keyword(query)] += times


def _how_many(args: Iterable[Any]) -> int:
    return len(args) if isinstance(args, Sized) else 1


def install() -> None:
    """Wrap asyncpg's statement entry points (once per process); each still returns the
    original coroutine."""
    from asyncpg.connection import Connection
    from asyncpg.prepared_stmt import PreparedStatement

    if getattr(Connection, "_bench_counted", False):
        return
    Connection._bench_counted = True

    def wrap(cls: Any, name: str, counted: Callable[..., tuple[str, int] | None]) -> None:
        original = getattr(cls, name)

        def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
            found = counted(self, *args)
            if found is not None:
                _count(*found)
            return original(self, *args, **kwargs)

        setattr(cls, name, counting)

    # execute() without arguments is a simple query; with arguments it calls _execute.
    wrap(Connection, "execute", lambda _c, query, *args: None if args else (query, 1))
    wrap(Connection, "_execute", lambda _c, query, *_a: (query, 1))
    wrap(Connection, "_executemany", lambda _c, query, args, *_a: (query, _how_many(args)))
    # fetch, fetchrow and fetchval of a prepared statement (SQLAlchemy's path).
    wrap(PreparedStatement, "_PreparedStatement__bind_execute", lambda s, *_a: (s.get_query(), 1))
    for name in ("executemany", "fetchmany"):
        wrap(PreparedStatement, name, lambda s, args, *_a: (s.get_query(), _how_many(args)))


def _writer(path: Path) -> Callable[[int, object], None]:
    sequence = 0

    def write(_signal: int, _frame: object) -> None:
        nonlocal sequence
        sequence += 1
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps({"sequence": sequence, "counts": dict(counts)}))
        os.replace(partial, path)

    return write


def read(path: Path) -> dict[str, Any]:
    """The last counts written to `path`; sequence 0 and no counts before the first."""
    try:
        return dict(json.loads(path.read_text()))
    except FileNotFoundError:
        return {"sequence": 0, "counts": {}}


async def snapshot(pid: int, path: Path, timeout: float = 5.0) -> dict[str, int]:
    """Ask process `pid` for its counts (SIGUSR1) and wait for them in `path`."""
    before = read(path)["sequence"]
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while (written := read(path))["sequence"] == before:
        if time.monotonic() > deadline:
            raise RuntimeError(f"process {pid} wrote no statement counts to {path}")
        await asyncio.sleep(0.02)
    return {name: int(n) for name, n in written["counts"].items()}


def split(counts_: dict[str, int]) -> tuple[int, int]:
    """(statements, transaction control statements) of a count by keyword."""
    control = sum(n for name, n in counts_.items() if name in CONTROL)
    return sum(counts_.values()) - control, control


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit("usage: python -m bench.statements <module> [args]")
    module = sys.argv[1]
    signal.signal(signal.SIGUSR1, _writer(Path(os.environ[ENV])))
    install()
    sys.argv = [sys.argv[0], *sys.argv[2:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
