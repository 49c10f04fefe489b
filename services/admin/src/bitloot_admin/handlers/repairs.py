"""What an admin does to repair an order: replay a parked message, a webhook or an IPN,
retry a saga, resend the email or a customer notice, issue a fresh link or a presigned
URL, decide a payment flag or a refund, refund an order whose keys were never revealed.
Each asks the service that owns the thing (naming the admin in `X-Bitloot-Actor`) and is
audited with its outcome. Most differ only in what they ask (an `Ask` that `Repair`
posts); replaying a parked message and reading a presigned URL have their own use cases.

A service that does not answer makes the action `unavailable`, never an error of ours."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar
from uuid import UUID

from bitloot_admin.adapters.upstream import SERVICES, Reply, Unavailable, UpstreamClient
from bitloot_admin.domain.audit import AuditEntry
from bitloot_admin.domain.listings import items_of
from bitloot_admin.domain.read_back import (
    EMAIL_UNSETTLED,
    SAGA_UNSETTLED,
    UNANSWERED,
    ReadBack,
    email_read_back,
    saga_read_back,
)
from bitloot_admin.domain.views import Saga, SagaPage
from bitloot_admin.handlers.audit import record
from bitloot_admin.handlers.ports import AdminWork
from bitloot_contracts.schemas import JsonObject
from bitloot_contracts.topics import ADMIN, DELIVERY, FULFILLMENT
from bitloot_runtime.dead_letters import (
    DeadLetterAlreadyReplayed,
    DeadLetterNotFound,
    DeadLetterStore,
)
from bitloot_runtime.internal import dead_letter_json
from bitloot_runtime.publisher import BusPublisher

logger = logging.getLogger(__name__)

DEAD_LETTER_SERVICES = (*SERVICES, ADMIN)
# How long a result page waits for an email or a saga to settle before saying where it is.
READ_BACK_SECONDS = 4.0
_T = TypeVar("_T")


def _unsettled(found: object) -> bool:
    """Whether an email or a saga read back is still under way."""
    if isinstance(found, Saga):
        return found.state in SAGA_UNSETTLED
    return isinstance(found, dict) and found.get("status") in EMAIL_UNSETTLED


@dataclass(frozen=True)
class Outcome:
    """How an action ended: the service's status and answer, or `unavailable`."""

    service: str
    status: int
    body: JsonObject = field(default_factory=dict)

    @classmethod
    def of(cls, service: str, reply: Reply | Unavailable) -> "Outcome":
        """What `service` answered an action (a refusal is an answer too)."""
        if isinstance(reply, Reply):
            return cls(service, reply.status, reply.body)
        return cls(service, 503, {"error": "unavailable"})

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def reason(self) -> str:
        if self.ok:
            return "ok"
        if self.status == 503:
            return "unavailable"
        return str(self.body.get("error") or f"http_{self.status}")


@dataclass(frozen=True)
class Ask:
    """A repair as the service that owns the row takes it: ``POST /internal/<target>/<verb>``
    at `service`, with `body` (else none); audited as `action` on `target` (``<rows>/<id>``)
    with `audited` beside the outcome, by default the body less the admin it names."""

    service: str
    action: str
    target: str
    verb: str
    body: JsonObject | None = None
    audited: JsonObject | None = None


@dataclass(frozen=True)
class _Audited:
    """An admin's action on another service, audited (and logged) with how it ended."""

    upstream: UpstreamClient
    work: Callable[[], AdminWork]

    async def _audited(
        self, actor: str, action: str, target: str, outcome: Outcome, extra: JsonObject
    ) -> Outcome:
        detail: JsonObject = {"service": outcome.service, "status": outcome.status, **extra}
        await record(self.work, AuditEntry(actor, action, target, outcome.reason, detail))
        logger.info(
            "admin action",
            extra={"actor": actor, "action": action, "target": target, "outcome": outcome.reason},
        )
        return outcome


class Repair(_Audited):
    """Ask the service that owns the row what `ask` says."""

    async def __call__(self, actor: str, ask: Ask) -> Outcome:
        path = f"/internal/{ask.target}/{ask.verb}"
        reply = await self.upstream.post(ask.service, path, actor, ask.body)
        fields = {name: value for name, value in (ask.body or {}).items() if name != "actor"}
        extra = fields if ask.audited is None else ask.audited
        outcome = Outcome.of(ask.service, reply)
        return await self._audited(actor, ask.action, ask.target, outcome, extra)


@dataclass(frozen=True)
class ReplayDeadLetter(_Audited):
    """Replay a parked message; one already replayed (and not parked again) is refused
    (409 ``dead_letter_already_replayed``) unless `force`. The admin's own are replayed
    through its own store."""

    own_letters: DeadLetterStore
    own_publisher: BusPublisher

    async def __call__(self, actor: str, service: str, letter_id: int, force: bool) -> Outcome:
        if service == ADMIN:
            outcome = await self._own(letter_id, force)
        else:
            path = f"/internal/dead-letters/{letter_id}/replay" + ("?force=true" if force else "")
            outcome = Outcome.of(service, await self.upstream.post(service, path, actor))
        target = f"{service}/dead-letters/{letter_id}"
        return await self._audited(actor, "dead_letter_replay", target, outcome, {"force": force})

    async def _own(self, letter_id: int, force: bool) -> Outcome:
        try:
            letter = await self.own_letters.replay(letter_id, self.own_publisher, force=force)
        except DeadLetterNotFound:
            return Outcome(ADMIN, 404, {"error": "dead_letter_not_found"})
        except DeadLetterAlreadyReplayed as exc:
            return Outcome(
                ADMIN, 409, {"error": "dead_letter_already_replayed", "detail": str(exc)}
            )
        return Outcome(ADMIN, 200, dead_letter_json(letter))


class ObjectUrl(_Audited):
    """A presigned URL, valid `ttl_seconds`, of the order's sealed keys at delivery."""

    async def __call__(self, actor: str, order_id: UUID, ttl_seconds: int) -> Outcome:
        path = f"/internal/orders/{order_id}/object-url"
        params = {"ttl_seconds": str(ttl_seconds)}
        answer = await self.upstream.get_document(DELIVERY, path, params, actor=actor)
        if isinstance(answer, dict):
            outcome = Outcome(DELIVERY, 200, answer)
        else:
            status = 404 if not isinstance(answer, Unavailable) else 503
            outcome = Outcome(DELIVERY, status, {"error": "not_found" if status == 404 else ""})
        return await self._audited(actor, "object_url", f"orders/{order_id}", outcome, {})


@dataclass
class DeadLetters:
    """Parked messages of every service, newest first within each, and who did not answer."""

    items: list[JsonObject]
    partial: list[str]


@dataclass(frozen=True)
class ListDeadLetters:
    """Every service's parked messages (asked at the same time) and the admin's own."""

    upstream: UpstreamClient
    own_letters: DeadLetterStore

    async def __call__(self, include_replayed: bool, limit: int) -> DeadLetters:
        params = {"limit": str(limit), "include_replayed": "true" if include_replayed else "false"}
        answers = await asyncio.gather(
            *(self.upstream.get_document(s, "/internal/dead-letters", params) for s in SERVICES)
        )
        items: list[JsonObject] = []
        partial: list[str] = []
        for service, answer in zip(SERVICES, answers, strict=True):
            found = items_of(answer) if isinstance(answer, dict) else None
            if found is None:
                partial.append(service)
                continue
            items += [{"service": service, **item} for item in found]
        own = await self.own_letters.list(include_replayed=include_replayed, limit=limit)
        items += [{"service": ADMIN, **dead_letter_json(letter)} for letter in own]
        return DeadLetters(items, partial)


@dataclass(frozen=True)
class ReadBackOrder:
    """What the service that accepted an action's outcome reports now: the email it
    queued (delivery's email log) or the saga it moved (fulfillment's), asked again for
    up to `settle` seconds while it is still under way; None for other actions."""

    upstream: UpstreamClient
    settle: float = READ_BACK_SECONDS

    async def __call__(self, order_id: UUID, outcome: Outcome) -> ReadBack | None:
        email_id = outcome.body.get("email_id")
        if outcome.ok and isinstance(email_id, int):
            email = await self._settled(partial(self._email, order_id, email_id))
            return email_read_back(email_id, email)
        if outcome.ok and outcome.service == FULFILLMENT and "state" in outcome.body:
            return saga_read_back(await self._settled(partial(self._saga, order_id)))
        return None

    async def _settled(self, ask: Callable[[], Awaitable[_T | None]]) -> _T | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settle
        while True:
            found = await ask()
            if found is None or not _unsettled(found) or loop.time() >= deadline:
                return found
            await asyncio.sleep(0.25)

    async def _email(self, order_id: UUID, email_id: int) -> JsonObject | None:
        path = f"/internal/orders/{order_id}/emails"
        answer = await self.upstream.get_document(DELIVERY, path)
        if not isinstance(answer, dict):
            return {"id": email_id, "status": UNANSWERED}
        emails = answer.get("emails")
        listed = emails if isinstance(emails, list) else []
        found = [e for e in listed if isinstance(e, dict) and e.get("id") == email_id]
        return found[0] if found else None

    async def _saga(self, order_id: UUID) -> Saga | None:
        params = {"order_id": [str(order_id)]}
        answer = await self.upstream.get(FULFILLMENT, "/internal/sagas", SagaPage, params)
        return answer.items[0] if isinstance(answer, SagaPage) and answer.items else None
