"""What an admin does to repair an order: replay a parked message, a webhook or an IPN,
retry a saga, resend the email or a customer notice, issue a fresh link or a presigned
URL, decide a payment flag or a refund, refund an order whose keys were never revealed.
Each asks the service that owns the thing (naming the admin in `X-Bitloot-Actor`) and is
audited with its outcome.

A service that does not answer makes the action `unavailable`, never an error of ours."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar
from uuid import UUID

from pydantic import JsonValue

from bitloot_admin.adapters.upstream import SERVICES, Reply, Unavailable, UpstreamClient
from bitloot_admin.domain.audit import AuditEntry
from bitloot_admin.domain.flags import Decision
from bitloot_admin.domain.listings import items_of
from bitloot_admin.domain.read_back import (
    EMAIL_UNSETTLED,
    SAGA_UNSETTLED,
    UNANSWERED,
    ReadBack,
    email_read_back,
    saga_read_back,
)
from bitloot_admin.domain.refunds import RefundDecision
from bitloot_admin.domain.views import Saga, SagaPage
from bitloot_admin.handlers.audit import record
from bitloot_admin.handlers.ports import AdminWork
from bitloot_contracts.topics import ADMIN, DELIVERY, FULFILLMENT, KINGUIN_GATEWAY, PAYMENTS
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
    body: dict[str, JsonValue] = field(default_factory=dict)

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


@dataclass
class DeadLetters:
    """Parked messages of every service, newest first within each, and who did not answer."""

    items: list[dict[str, JsonValue]]
    partial: list[str]


@dataclass(frozen=True)
class Repairs:
    """The admin's actions; its own parked messages are replayed through its own store."""

    upstream: UpstreamClient
    work: Callable[[], AdminWork]
    own_letters: DeadLetterStore
    own_publisher: BusPublisher

    async def dead_letters(self, include_replayed: bool, limit: int) -> DeadLetters:
        """Every service's parked messages, asked at the same time."""
        params = {"limit": str(limit), "include_replayed": "true" if include_replayed else "false"}
        answers = await asyncio.gather(
            *(self.upstream.get_document(s, "/internal/dead-letters", params) for s in SERVICES)
        )
        items: list[dict[str, JsonValue]] = []
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

    async def replay_dead_letter(
        self, actor: str, service: str, letter_id: int, force: bool = False
    ) -> Outcome:
        """Replay a parked message; one already replayed (and not parked again) is refused
        (409 ``dead_letter_already_replayed``) unless `force`."""
        target = f"{service}/dead-letters/{letter_id}"
        if service == ADMIN:
            own = self._own(letter_id, force)
            return await self._audited(actor, "dead_letter_replay", target, own, {"force": force})
        path = f"/internal/dead-letters/{letter_id}/replay" + ("?force=true" if force else "")
        call = self._post(service, path, actor)
        return await self._audited(actor, "dead_letter_replay", target, call, {"force": force})

    async def replay_webhook(self, actor: str, webhook_id: int) -> Outcome:
        path = f"/internal/webhooks/{webhook_id}/replay"
        call = self._post(KINGUIN_GATEWAY, path, actor)
        return await self._audited(actor, "webhook_replay", f"webhooks/{webhook_id}", call)

    async def replay_ipn(self, actor: str, ipn_id: int) -> Outcome:
        """Put an IPN payments gave up on (``error``) back in its queue."""
        call = self._post(PAYMENTS, f"/internal/ipns/{ipn_id}/replay", actor)
        return await self._audited(actor, "ipn_replay", f"ipns/{ipn_id}", call)

    async def decide_flag(
        self, actor: str, flag_id: int, decision: Decision, note: str | None
    ) -> Outcome:
        """Resolve a payment flag as `decision`, with the admin's `note` (payments requires
        one to dismiss); the note is audited with the outcome."""
        path = f"/internal/flags/{flag_id}/{decision.name}"
        call = self._post(PAYMENTS, path, actor, {"note": note} if note is not None else None)
        target = f"flags/{flag_id}"
        return await self._audited(actor, decision.action, target, call, {"note": note})

    async def decide_refund(
        self,
        actor: str,
        refund_id: int,
        decision: RefundDecision,
        note: str | None,
        transaction_id: str | None = None,
    ) -> Outcome:
        """Approve, reject or record as refunded outside BitLoot a refund; payments
        refuses (409) a decision its status does not allow. Audited with the note."""
        body: dict[str, JsonValue] = {"actor": actor, "note": note}
        if decision.takes_transaction_id:
            body["transaction_id"] = transaction_id
        call = self._post(PAYMENTS, f"/internal/refunds/{refund_id}/{decision.name}", actor, body)
        extra = {name: value for name, value in body.items() if name != "actor"}
        return await self._audited(actor, decision.action, f"refunds/{refund_id}", call, extra)

    async def refund_unrevealed(self, actor: str, order_id: UUID, note: str) -> Outcome:
        """Revoke a fulfilled order's keys at delivery so that the order is refunded;
        delivery refuses (409 ``keys_revealed``) once any key was revealed."""
        path = f"/internal/orders/{order_id}/revoke"
        call = self._post(DELIVERY, path, actor, {"actor": actor, "note": note})
        target = f"orders/{order_id}"
        return await self._audited(actor, "order_refund_unrevealed", target, call, {"note": note})

    async def resend_notice(self, actor: str, order_id: UUID, kind: str) -> Outcome:
        """Send a customer notice of the order again (delivery: 404 ``no_such_notice``
        when it was never sent)."""
        path = f"/internal/orders/{order_id}/notices/resend"
        call = self._post(DELIVERY, path, actor, {"kind": kind, "actor": actor})
        target = f"orders/{order_id}"
        return await self._audited(actor, "notice_resend", target, call, {"kind": kind})

    async def retry_order(self, actor: str, order_id: UUID) -> Outcome:
        call = self._post(FULFILLMENT, f"/internal/orders/{order_id}/retry", actor)
        return await self._audited(actor, "order_retry", f"orders/{order_id}", call)

    async def resend_email(self, actor: str, order_id: UUID) -> Outcome:
        call = self._post(DELIVERY, f"/internal/orders/{order_id}/emails", actor)
        return await self._audited(actor, "email_resend", f"orders/{order_id}", call)

    async def fresh_link(self, actor: str, order_id: UUID) -> Outcome:
        call = self._post(DELIVERY, f"/internal/orders/{order_id}/link", actor)
        return await self._audited(actor, "link_issued", f"orders/{order_id}", call)

    async def object_url(self, actor: str, order_id: UUID, ttl_seconds: int) -> Outcome:
        async def call() -> Outcome:
            path = f"/internal/orders/{order_id}/object-url"
            params = {"ttl_seconds": str(ttl_seconds)}
            answer = await self.upstream.get_document(DELIVERY, path, params, actor=actor)
            if isinstance(answer, dict):
                return Outcome(DELIVERY, 200, answer)
            status = 404 if not isinstance(answer, Unavailable) else 503
            return Outcome(DELIVERY, status, {"error": "not_found" if status == 404 else ""})

        return await self._audited(actor, "object_url", f"orders/{order_id}", call())

    async def read_back(
        self, order_id: UUID, outcome: Outcome, settle: float = READ_BACK_SECONDS
    ) -> ReadBack | None:
        """What the service that accepted `outcome` reports now: the email it queued
        (delivery's email log) or the saga it moved (fulfillment's), asked again for up
        to `settle` seconds while it is still under way; None for other actions."""
        email_id = outcome.body.get("email_id")
        if outcome.ok and isinstance(email_id, int):
            email = await self._settled(partial(self._email, order_id, email_id), settle)
            return email_read_back(email_id, email)
        if outcome.ok and outcome.service == FULFILLMENT and "state" in outcome.body:
            return saga_read_back(await self._settled(partial(self._saga, order_id), settle))
        return None

    @staticmethod
    async def _settled(ask: Callable[[], Awaitable[_T | None]], settle: float) -> _T | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settle
        while True:
            found = await ask()
            if found is None or not _unsettled(found) or loop.time() >= deadline:
                return found
            await asyncio.sleep(0.25)

    async def _email(self, order_id: UUID, email_id: int) -> dict[str, JsonValue] | None:
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

    async def _post(
        self, service: str, path: str, actor: str, body: dict[str, JsonValue] | None = None
    ) -> Outcome:
        reply = await self.upstream.post(service, path, actor, body)
        if isinstance(reply, Reply):
            return Outcome(service, reply.status, reply.body)
        return Outcome(service, 503, {"error": "unavailable"})

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

    async def _audited(
        self,
        actor: str,
        action: str,
        target: str,
        call: Awaitable[Outcome],
        extra: dict[str, JsonValue] | None = None,
    ) -> Outcome:
        outcome = await call
        detail: dict[str, JsonValue] = {
            "service": outcome.service,
            "status": outcome.status,
            **(extra or {}),
        }
        entry = AuditEntry(actor, action, target, outcome.reason, detail)
        await record(self.work, entry)
        logger.info(
            "admin action",
            extra={"actor": actor, "action": action, "target": target, "outcome": outcome.reason},
        )
        return outcome
