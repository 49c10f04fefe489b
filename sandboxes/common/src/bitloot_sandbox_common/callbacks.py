"""Outgoing callbacks (IPNs, webhooks), retried as providers do, and the tasks sending them."""

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import httpx
from pydantic import JsonValue

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """What became of one callback: the last answer's status or the last error."""

    url: str
    attempts: int
    status_code: int | None
    error: str | None
    sent_at: str

    def as_json(self) -> dict[str, JsonValue]:
        """The ledgers' view of it."""
        return {
            "url": self.url,
            "attempts": self.attempts,
            "status_code": self.status_code,
            "error": self.error,
            "sent_at": self.sent_at,
        }

    @property
    def delivered(self) -> bool:
        """Whether the receiver answered 2xx."""
        return self.status_code is not None and 200 <= self.status_code < 300


class CallbackSettings(Protocol):
    """How a sandbox's configuration tunes its callbacks."""

    @property
    def callback_attempts(self) -> int: ...
    @property
    def callback_backoff(self) -> float: ...
    @property
    def callback_timeout(self) -> float: ...


class CallbackSender:
    """POSTs callbacks; retries on connection errors and 5xx with exponential backoff.

    The HTTP client is created on first use, so that the sender works whether or not the
    app's lifespan ran (`httpx.ASGITransport` does not run it); `aclose()` closes it.
    """

    def __init__(
        self,
        *,
        attempts: int,
        backoff: float,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._attempts = max(1, attempts)
        self._backoff = backoff
        self._timeout = timeout
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    @classmethod
    def configured(
        cls, settings: CallbackSettings, transport: httpx.AsyncBaseTransport | None = None
    ) -> "CallbackSender":
        """A sender tuned by a sandbox configuration's ``callback_*`` fields."""
        return cls(
            attempts=settings.callback_attempts,
            backoff=settings.callback_backoff,
            timeout=settings.callback_timeout,
            transport=transport,
        )

    async def post(self, url: str, content: bytes, headers: dict[str, str]) -> Delivery:
        """Send `content` to `url` until a non-5xx answer or the attempts run out."""
        status: int | None = None
        error: str | None = None
        attempt = 0
        for attempt in range(1, self._attempts + 1):
            try:
                response = await self._http().post(url, content=content, headers=headers)
                status, error = response.status_code, None
                if status < 500:
                    break
            except httpx.HTTPError as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"
            if attempt < self._attempts:
                await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
        delivery = Delivery(url, attempt, status, error, datetime.now(UTC).isoformat())
        logger.info(
            "callback sent",
            extra={"url": url, "attempts": attempt, "status_code": status, "error": error},
        )
        return delivery

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(transport=self._transport, timeout=self._timeout)
        return self._client

    async def aclose(self) -> None:
        """Close the HTTP client, if one was opened."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class Tasks:
    """Background tasks (callback sequences), kept referenced, cancelled on `aclose()`."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[object, object, None], name: str) -> None:
        """Run `work` in the background; its failure is logged, never lost."""
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("background task %s failed", task.get_name(), exc_info=task.exception())

    async def idle(self) -> None:
        """Wait until no background task runs (tests: all callbacks sent)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def aclose(self) -> None:
        """Cancel every running task and wait for them to end."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
