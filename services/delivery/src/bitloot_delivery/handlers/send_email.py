"""Sending the customer's email: the link, never a key; delivery.completed once it is out.

Pending rows are taken one at a time `FOR UPDATE SKIP LOCKED`, so any number of
instances send side by side and never the same email twice at once. The row stays
locked while the mail server is talked to, and the email is marked sent, and
delivery.completed emitted, in that same transaction.

At-least-once window: if the process dies after the mail server accepted the message
but before the commit, the row is still pending and the next pass sends it again (one
duplicate link email, harmless: both links open the same keys). The reverse, a row
marked sent whose email never left, cannot happen.
"""

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bitloot_contracts.events import DeliveryCompleted, DeliveryFailed
from bitloot_delivery.adapters.mailer import MailNotSent, SmtpMailer
from bitloot_delivery.adapters.repository import DeliveryRepository, PendingEmail
from bitloot_delivery.domain.emails import MAX_ATTEMPTS, EmailKind, compose, retry_delay
from bitloot_delivery.domain.links import RevealLinks, link_url
from bitloot_runtime.db import UnitOfWork
from bitloot_runtime.logging import log_context

logger = logging.getLogger(__name__)

# Polling keeps the skeleton simple: a new delivery waits at most this long for its
# email. LISTEN/NOTIFY (as the outbox relay does) would make it immediate.
IDLE_POLL_SECONDS = 0.3
ERROR_PAUSE_SECONDS = 5.0


class EmailSender:
    """Sends due emails; `run` is the service's "mailer" background loop."""

    def __init__(
        self,
        *,
        unit_of_work: Callable[[], UnitOfWork],
        mailer: SmtpMailer,
        links: RevealLinks,
        public_url: str,
        mail_from: str,
        max_attempts: int = MAX_ATTEMPTS,
        backoff: Callable[[int], timedelta] = retry_delay,
    ) -> None:
        self._unit_of_work = unit_of_work
        self._mailer = mailer
        self._links = links
        self._public_url = public_url
        self._mail_from = mail_from
        self._max_attempts = max_attempts
        self._backoff = backoff

    async def run(self) -> None:
        while True:
            try:
                sent_one = await self.send_next()
            except Exception:
                logger.exception("email sender failed; pausing")
                await asyncio.sleep(ERROR_PAUSE_SECONDS)
                continue
            if not sent_one:
                await asyncio.sleep(IDLE_POLL_SECONDS)

    async def send_next(self) -> bool:
        """Try the next due email; False when none is due."""
        async with self._unit_of_work() as uow:
            repository = DeliveryRepository(uow.session)
            email = await repository.next_pending_email()
            if email is None:
                return False
            with log_context(order_id=str(email.order_id)):
                await self._attempt(uow, repository, email)
            await uow.commit()
        return True

    async def _attempt(
        self, uow: UnitOfWork, repository: DeliveryRepository, email: PendingEmail
    ) -> None:
        link = link_url(self._public_url, self._links.issue(email.order_id))
        message = compose(
            sender=self._mail_from,
            to=email.to_address,
            link=link,
            ttl_minutes=self._links.ttl.total_seconds() / 60,
        )
        try:
            await self._mailer.send(message)
        except MailNotSent as exc:
            await self._failed(uow, repository, email, str(exc))
            return
        await repository.mark_sent(email)
        if email.kind is EmailKind.DELIVERY:
            await uow.emit(
                DeliveryCompleted(
                    order_id=email.order_id, key_count=email.key_count, email_sent=True
                )
            )
        logger.info("email sent", extra={"email_kind": email.kind.value})

    async def _failed(
        self, uow: UnitOfWork, repository: DeliveryRepository, email: PendingEmail, error: str
    ) -> None:
        attempts = email.attempts + 1
        if attempts < self._max_attempts:
            retry_at = datetime.now(UTC) + self._backoff(attempts)
            await repository.mark_attempt_failed(email, error, retry_at)
            logger.warning(
                "email not sent; will retry",
                extra={"attempt": attempts, "retry_at": retry_at.isoformat(), "error": error},
            )
            return
        await repository.mark_attempt_failed(email, error, None)
        if email.kind is EmailKind.DELIVERY:
            reason = f"The link email was refused {attempts} times; last: {error}"
            await uow.emit(
                DeliveryFailed(order_id=email.order_id, code="email_failed", reason=reason)
            )
        logger.error("email failed for good", extra={"attempt": attempts, "error": error})
