"""The in-memory unit of work that handler tests of business rules run on.

Each service's fake (`tests/fakes.py`) subclasses `FakeWork` and adds in-memory
repositories that subclass the same ports as the real ones, so a handler cannot tell
them apart. What the real unit of work guarantees — nothing is kept without `commit()`,
events go out only with the commit, callbacks run only after it — the fake keeps too:
`committed` holds what the last commit made durable, `events` what it published.
"""

from collections.abc import Callable
from types import TracebackType
from typing import Self

from bitloot_contracts.events import Event


class FakeWork:
    """`bitloot_runtime.db.Work` in memory. Repositories of a subclass keep their rows
    in plain structures; `rollback` is the subclass's to extend if a test needs it."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.commits = 0
        self._pending: list[Event] = []
        self._after_commit: list[Callable[[], None]] = []

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._pending.clear()
        self._after_commit.clear()

    async def emit(self, event: Event) -> None:
        self._pending.append(event)

    def on_commit(self, callback: Callable[[], None]) -> None:
        self._after_commit.append(callback)

    async def commit(self) -> None:
        self.commits += 1
        self.events.extend(self._pending)
        self._pending.clear()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            callback()
