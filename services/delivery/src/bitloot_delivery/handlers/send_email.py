"""Sending the customer's emails: the link, never a key; delivery.completed once the one
delivery email is out. A delay notice (no link) goes through the same attempts, retries
and doubt handling, but emits nothing: delivery.completed and delivery.failed are about
the keys email only, so a notice that fails for good is logged and shown in the email log.
Everything below is per email row, whatever its kind.

Each attempt is three short transactions around the SMTP conversation:

1. claim: the oldest due email is taken `FOR UPDATE SKIP LOCKED` (any number of
   instances send side by side, never the same email at once) and committed as
   `sending`, with its Message-ID, `claimed_at` and stage `before_data`;
2. stage: once the server accepted the recipients, the mailer calls back just before
   the DATA command and the stage `data` is committed. If that commit fails, or the
   attempt is no longer ours, DATA is not sent: the server does not have the message,
   and the attempt counts as not sent (retried with a backoff);
3. finish: after the mail server answered, the email is marked `sent` and
   delivery.completed emitted in one transaction (or, refused, put back `pending` with a
   backoff, or `failed` with delivery.failed after the last attempt). If the database is
   away at that moment, recording is retried: the process knows what the server said.
   When another email was due as this one was claimed, the transaction that marks it
   `sent` also claims the next (step 1 of the next attempt, committed with it): a
   conversation working through a queue costs two transactions per email, not three.

An attempt cut short (its sender died, or it is still `sending` after `lease`; or the
connection was lost during DATA) is settled by `domain.emails.after_cut`, from the stage
its row shows, always keeping the email's Message-ID:

- cut before DATA: the server surely does not have it; it is due again at once
  (`recovered_attempts` counts these);
- cut during DATA: the server may have it. It is sent once more, after the lease (a slow
  server that did take it has had time to answer; mail systems collapse copies with one
  Message-ID), counted in `doubtful_resends`. A connection lost during DATA by a live
  sender is parked `pending` until now + lease for that;
- cut during DATA again: `unconfirmed`, never sent again by itself (visible in the email
  log, for an admin to resend on request) and, for the delivery email, delivery.completed
  is emitted with ``email_sent=false`` so the order does not hang.

So a customer gets the message at most twice, both copies with one Message-ID, and only
when the conversation was cut while the server held the message.

The loop sleeps until a queued email NOTIFYs it or `poll_seconds` passes (the fallback
for a lost notification, for retries falling due and for stale attempts). Awake, it holds
up to `concurrency` conversations at once, each its own claim, as separate instances do
(one more each time a claim finds another email due): one at a time, a conversation's
round trips to the mail server capped an instance at about 15 emails a second whatever
the CPU (issue #20).
"""

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any, TypeVar

from bitloot_contracts.events import DeliveryCompleted, DeliveryFailed
from bitloot_delivery.adapters.email_log import EMAILS_CHANNEL
from bitloot_delivery.adapters.mailer import MailNotSent, MailUncertain, SmtpMailer
from bitloot_delivery.domain.emails import (
    KIND_HEADER,
    MAX_ATTEMPTS,
    AfterCut,
    EmailKind,
    SmtpStage,
    after_cut,
    compose,
    new_message_id,
    retry_delay,
)
from bitloot_delivery.domain.links import ClaimLinks, RevealLinks, link_url
from bitloot_delivery.domain.notices import compose_notice
from bitloot_delivery.domain.refund_notices import (
    RefundNotice,
    carries_claim_link,
    compose_refund_email,
    wording_of,
)
from bitloot_delivery.handlers.ports import ClaimedEmail, DeliveryWork
from bitloot_delivery.metrics import DeliveryMetrics
from bitloot_runtime.logging import log_context
from bitloot_runtime.telemetry import NO_SPAN, continued, enabled
from bitloot_runtime.worker import Worker

logger = logging.getLogger(__name__)

T = TypeVar("T")
# A claim: the email claimed (None if none was due), and whether another was due beside it.
Claimed = tuple[ClaimedEmail | None, bool]

ERROR_PAUSE_SECONDS = 5.0

_CUT_DETAIL = {
    AfterCut.RESEND: "Cut short before DATA: the mail server does not have it; sent again",
    AfterCut.RESEND_ONCE: (
        "Cut short during DATA: the mail server may have it; sent once more after the lease,"
        " with the same Message-ID"
    ),
    AfterCut.UNCONFIRMED: (
        "Cut short during DATA again: the mail server may have it; not sent again by itself"
    ),
}


class AttemptTaken(Exception):
    """The attempt is no longer this sender's (taken back as stale): it must stop."""


@dataclass(kw_only=True, eq=False, repr=False)
class EmailSender:
    """Sends due emails; `run` is the service's "mailer" background loop. `metrics`:
    where each recorded outcome is counted, once committed."""

    unit_of_work: Callable[[], DeliveryWork]
    mailer: SmtpMailer
    links: RevealLinks
    claim_links: ClaimLinks
    public_url: str
    mail_from: str
    support_email: str
    max_attempts: int = MAX_ATTEMPTS
    backoff: Callable[[int], timedelta] = retry_delay
    lease: timedelta = timedelta(minutes=10)
    concurrency: int = 1
    metrics: DeliveryMetrics | None = None
    # When stale attempts are next looked for (monotonic clock): once a poll, not on
    # every NOTIFY (a transaction per queued email, for attempts older than a lease).
    _next_recovery: float = field(default=float("-inf"), init=False)

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")

    def worker(self, listen_dsn: str | None = None, poll_seconds: float = 5.0) -> Worker:
        """The "mailer" loop: sends now, on every NOTIFY on `listen_dsn`, every poll; a
        failed pass pauses it `ERROR_PAUSE_SECONDS`."""
        return Worker(
            "mailer",
            functools.partial(self._drain, poll_seconds),
            interval=poll_seconds,
            pause=ERROR_PAUSE_SECONDS,
            listen=(listen_dsn, EMAILS_CHANNEL) if listen_dsn is not None else None,
            closing=self.mailer.close,
        )

    async def run(self, listen_dsn: str | None = None, poll_seconds: float = 5.0) -> None:
        """Send until cancelled: now, on every NOTIFY on `listen_dsn`, every poll."""
        await self.worker(listen_dsn, poll_seconds).run()

    async def send_next(self) -> bool:
        """Try the next due email; False when none is due."""
        return await self._send_due() is not None

    async def _send_due(self) -> bool | None:
        """Try the next due email: None when none was due, else whether another was due
        when it was claimed (one queued since NOTIFYs the loop)."""
        email, more = await self._claim()
        if email is None:
            return None
        await self._attempt(email, claim_next=False)
        return more

    async def recover_stale(self) -> int:
        """Settle the attempts still under way after the lease (their sender died or
        hangs) by the stage they reached; how many."""
        now = datetime.now(UTC)
        async with self.unit_of_work() as uow:
            stale = await uow.emails.stale(self.lease)
            settled = [
                (attempt.email, await self._settle_cut(uow, attempt.email, attempt.stage, now))
                for attempt in stale
            ]
            await uow.commit()
        for email, verdict in settled:
            with log_context(order_id=str(email.order_id)):
                _log_cut(email, verdict, "attempt still under way after the lease")
        return len(stale)

    async def _drain(self, poll_seconds: float) -> None:
        now = time.monotonic()
        if now >= self._next_recovery:
            await self.recover_stale()
            self._next_recovery = now + poll_seconds
        await self._send_all_due()

    async def _send_all_due(self) -> None:
        """Hold conversations while emails are due: one to begin with, and one more each
        time a claim says another email is due, up to `concurrency`; each ends when its
        claim finds no other due. (Starting them all at once cost `concurrency - 1`
        empty claims, each a transaction, whenever one email was queued.) Conversations
        under way finish even if another fails; its error is raised once they have."""
        conversations: list[asyncio.Task[None]] = []

        def one_more() -> None:
            if sum(not task.done() for task in conversations) < self.concurrency:
                conversations.append(asyncio.create_task(self._send_while_due(one_more)))

        one_more()
        try:
            while under_way := [task for task in conversations if not task.done()]:
                await asyncio.wait(under_way)
        except BaseException:
            for task in conversations:
                task.cancel()
            raise
        errors = [error for task in conversations if (error := task.exception()) is not None]
        if errors:
            raise errors[0]

    async def _send_while_due(self, another_due: Callable[[], None]) -> None:
        """One conversation: the next due email, then, for as long as another was due
        when the last was claimed, the next one (claimed as the last was recorded sent,
        or on its own after any other outcome)."""
        email, more = await self._claim()
        while email is not None and more:
            following = await self._attempt(email, claim_next=True)
            another_due()
            email, more = following if following is not None else await self._claim()
        if email is not None:
            await self._attempt(email, claim_next=False)

    async def _claim(self) -> tuple[ClaimedEmail | None, bool]:
        async with self.unit_of_work() as uow:
            claimed = await uow.emails.claim_due(new_message_id(self.mail_from))
            await uow.commit()
        return claimed

    def _message(self, email: ClaimedEmail) -> EmailMessage:
        """The email to send: a delay notice says so and carries no link (there may be no
        keys yet); a refund email says what its row keeps, with a claim link issued now
        where it needs one; every other kind carries a freshly issued reveal link."""
        if email.refund_notice is not None:
            return self._refund_message(email, email.refund_notice)
        if email.notice is not None:
            return compose_notice(
                sender=self.mail_from,
                to=email.to_address,
                notice=email.notice,
                message_id=email.message_id,
                order_id=email.order_id,
                support_email=self.support_email,
            )
        return compose(
            sender=self.mail_from,
            to=email.to_address,
            link=link_url(self.public_url, self.links.issue(email.order_id)),
            ttl_minutes=self.links.ttl.total_seconds() / 60,
            kind=email.kind,
            message_id=email.message_id,
            order_id=email.order_id,
            summary=email.summary,
            support_email=self.support_email,
        )

    def _refund_message(self, email: ClaimedEmail, notice: RefundNotice) -> EmailMessage:
        link = None
        if carries_claim_link(email.kind):
            link = self.claim_links.url(notice.refund_id, notice.order_id)
        return compose_refund_email(
            sender=self.mail_from,
            to=email.to_address,
            wording=wording_of(email.kind, notice, self.claim_links.ttl_days),
            message_id=email.message_id,
            support_email=self.support_email,
            link=link,
        )

    async def _attempt(self, email: ClaimedEmail, *, claim_next: bool) -> Claimed | None:
        """One attempt at `email`; with `claim_next`, if it was sent, the next due email
        claimed in the same transaction (None: not claimed, claim it on its own)."""
        # In the trace the email was queued in: delivery.completed goes on in it.
        with (
            _attempt_span(email),
            log_context(order_id=str(email.order_id)),
        ):
            message = self._message(email)
            message[KIND_HEADER] = email.kind.value
            try:
                await self.mailer.send(message, before_data=lambda: self._reach_data(email))
            except MailNotSent as exc:
                await self._until_recorded(self._refused, email, str(exc))
                return None
            except MailUncertain as exc:
                await self._until_recorded(self._cut_during_data, email, str(exc))
                return None
            return await self._until_recorded(self._sent, email, claim_next)

    async def _reach_data(self, email: ClaimedEmail) -> None:
        """Commit that DATA begins, before it does: the mailer sends no DATA if this
        raises, so a row still `before_data` proves the server lacks the message."""
        async with self.unit_of_work() as uow:
            if not await uow.emails.reach_data(email):
                raise AttemptTaken("the attempt was taken back as stale")
            await uow.commit()

    async def _until_recorded(self, record: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Record what the mail server answered, however long the database is away: this
        process knows the outcome, and if it gave up, the attempt would be left `sending`
        and taken back after the lease as a doubt (an email already sent would go out
        once more). Gives up only when the lease is about to run out."""
        deadline = time.monotonic() + self.lease.total_seconds() / 2
        delay = 0.5
        while True:
            try:
                return await record(*args)
            except Exception:
                if time.monotonic() + delay > deadline:
                    raise
                logger.warning("cannot record the email's outcome yet; retrying", exc_info=True)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _sent(self, email: ClaimedEmail, claim_next: bool) -> Claimed | None:
        ours, following = await self._completed(email, claim_next)
        if ours:
            logger.info("email sent", extra={"email_kind": email.kind.value})
        else:
            logger.error(
                "email sent after its attempt was taken back as stale",
                extra={"email_kind": email.kind.value, "message_id": email.message_id},
            )
        return following

    async def _cut_during_data(self, email: ClaimedEmail, error: str) -> None:
        """Cut off while the server took the message (this process alive): the rule for a
        cut during DATA, the resend (if any) due after the lease."""
        retry_at = datetime.now(UTC) + self.lease
        async with self.unit_of_work() as uow:
            verdict = await self._settle_cut(uow, email, SmtpStage.DATA, retry_at, error)
            await uow.commit()
        _log_cut(email, verdict, error)

    async def _settle_cut(
        self,
        uow: DeliveryWork,
        email: ClaimedEmail,
        stage: SmtpStage | None,
        retry_at: datetime,
        error: str = "",
    ) -> AfterCut | None:
        """Apply `after_cut` to an attempt cut short at `stage`, in `uow`; the verdict,
        or None if the attempt is no longer ours (nothing changed)."""
        log = uow.emails
        verdict = after_cut(stage, email.doubtful_resends)
        detail = f"{_CUT_DETAIL[verdict]}{': ' + error if error else ''}"
        if verdict is AfterCut.RESEND:
            done = await log.recover(email, detail)
        elif verdict is AfterCut.RESEND_ONCE:
            done = await log.resend_doubtful(email, retry_at, detail)
        else:
            done = await log.finish_unconfirmed(email, detail)
            if done:
                self._count(uow, email, "unconfirmed")
            if done and email.kind is EmailKind.DELIVERY:
                await uow.emit(
                    DeliveryCompleted(
                        order_id=email.order_id, key_count=email.key_count, email_sent=False
                    )
                )
        return verdict if done else None

    async def _completed(
        self, email: ClaimedEmail, claim_next: bool
    ) -> tuple[bool, Claimed | None]:
        """Record the attempt as sent and, for the delivery email, emit
        delivery.completed in the same transaction, and with `claim_next` claim the next
        due email in it too: whether the attempt was still ours (if not, nothing of it
        changed), and the claim."""
        async with self.unit_of_work() as uow:
            log = uow.emails
            events = []
            if email.kind is EmailKind.DELIVERY:
                completed = DeliveryCompleted(
                    order_id=email.order_id, key_count=email.key_count, email_sent=True
                )
                events.append(completed)
            ours = await log.finish_sent(email, events)
            if ours:
                self._count(uow, email, "accepted")
                if self.metrics is not None and email.kind is EmailKind.DELIVERY:
                    paid = await uow.summaries.paid_at(email.order_id)
                    uow.on_commit(functools.partial(self.metrics.key_accepted, paid))
            following = await log.claim_due(new_message_id(self.mail_from)) if claim_next else None
            if ours or claim_next:
                await uow.commit()
        return ours, following

    async def _refused(self, email: ClaimedEmail, error: str) -> None:
        final = email.attempts >= self.max_attempts
        retry_at = None if final else datetime.now(UTC) + self.backoff(email.attempts)
        async with self.unit_of_work() as uow:
            if not await uow.emails.finish_refused(email, error, retry_at):
                return
            self._count(uow, email, "failed" if final else "refused")
            if final and email.kind is EmailKind.DELIVERY:
                reason = f"The link email was refused {email.attempts} times; last: {error}"
                await uow.emit(
                    DeliveryFailed(order_id=email.order_id, code="email_failed", reason=reason)
                )
            await uow.commit()
        extra = {"attempt": email.attempts, "error": error, "email_kind": email.kind.value}
        if final:
            logger.error("email failed for good", extra=extra)
        else:
            logger.warning("email not sent; will retry", extra=extra)

    def _count(self, uow: DeliveryWork, email: ClaimedEmail, outcome: str) -> None:
        """Count `email`'s attempt as `outcome` once `uow` commits its record."""
        if self.metrics is not None:
            counter = self.metrics.emails.labels(kind=email.kind.value, outcome=outcome)
            uow.on_commit(counter.inc)


def _log_cut(email: ClaimedEmail, verdict: AfterCut | None, error: str) -> None:
    extra = {
        "email_kind": email.kind.value,
        "message_id": email.message_id,
        "attempt": email.attempts,
        "error": error,
    }
    if verdict is AfterCut.RESEND:
        logger.warning("email attempt cut before DATA; sending it again", extra=extra)
    elif verdict is AfterCut.RESEND_ONCE:
        logger.warning(
            "email attempt cut during DATA; sending it once more with the same Message-ID",
            extra=extra,
        )
    elif verdict is AfterCut.UNCONFIRMED:
        logger.error(
            "email attempt cut during DATA again; unconfirmed, not resent automatically",
            extra=extra,
        )


def _attempt_span(email: ClaimedEmail) -> AbstractContextManager[object]:
    """The attempt's span, in the trace `email` was queued in; `NO_SPAN` when tracing is
    off (no attributes built, no generator entered, per attempt)."""
    if not enabled():
        return NO_SPAN
    attributes = {
        "bitloot.order_id": str(email.order_id),
        "bitloot.email_kind": email.kind.value,
    }
    return continued(email.traceparent, "email attempt", attributes=attributes)
