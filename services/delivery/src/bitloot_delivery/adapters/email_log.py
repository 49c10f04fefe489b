"""The email log: every email queued for an order, each attempt at it and its outcome,
always in the caller's unit of work.

An attempt is claimed (status `sending`, a Message-ID, `claimed_at`, stage
`before_data`) and committed before the mail server is called; its stage becomes `data`
in a short transaction just before the DATA command; it is finished (`sent`, or back to
`pending` / `failed`, or `unconfirmed`) in a last transaction afterwards. Every write to
an attempt names it by `claimed_at`, so a sender that lost its attempt (taken back as
stale) changes nothing. Queuing an email NOTIFYs the sender, which PostgreSQL delivers
when (and only when) the queuing transaction commits.

A delay notice may be queued before the order has a delivery row (its key count is then
0), and is superseded, unsent, if the keys are stored while it still waits.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Select, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from bitloot_contracts.events import Event
from bitloot_delivery.adapters.orm import emails
from bitloot_delivery.adapters.summaries import parse_summary
from bitloot_delivery.domain.emails import EmailKind, EmailStatus, SmtpStage
from bitloot_delivery.domain.notices import DelayNotice
from bitloot_delivery.domain.refund_notices import RefundNotice
from bitloot_delivery.handlers.ports import ClaimedEmail, EmailLog, StaleAttempt
from bitloot_runtime.db import UnitOfWork, outbox_arrays, outbox_insert
from bitloot_runtime.telemetry import outgoing_traceparent

EMAILS_CHANNEL = "delivery_emails"


class EmailLogRepository(EmailLog):
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def queue(
        self, order_id: UUID, kind: EmailKind, to_address: str, notice: DelayNotice | None = None
    ) -> int | None:
        email_id: int | None = (
            await self._uow.session.execute(queuing(order_id, kind, to_address, notice))
        ).scalar()
        return email_id

    async def claim_due(self, message_id: str) -> tuple[ClaimedEmail | None, bool]:
        """Whether another was due is told so that a sender that has drained the queue
        need not ask once more to learn it."""
        driver = await self._uow.driver()
        row = await driver.fetchrow(_CLAIM_DUE, message_id)
        if row is None:
            return None, False
        values = dict(row)
        more = bool(values.pop("more_due"))
        return _claimed(values), more

    async def reach_data(self, email: ClaimedEmail) -> bool:
        driver = await self._uow.driver()
        return updated(await driver.execute(_REACH_DATA, email.id, email.claimed_at))

    async def finish_sent(self, email: ClaimedEmail, events: Sequence[Event] = ()) -> bool:
        """In one statement (`_FINISH_SENT`)."""
        driver = await self._uow.driver()
        sent: int = await driver.fetchval(
            _FINISH_SENT, email.id, email.claimed_at, *outbox_arrays(events)
        )
        return sent > 0

    async def finish_refused(
        self, email: ClaimedEmail, error: str, retry_at: datetime | None
    ) -> bool:
        if retry_at is None:
            return await self._update_attempt(
                email, status=EmailStatus.FAILED.value, failed_at=func.now(), last_error=error
            )
        return await self._update_attempt(
            email, status=EmailStatus.PENDING.value, next_attempt_at=retry_at, last_error=error
        )

    async def finish_unconfirmed(self, email: ClaimedEmail, error: str) -> bool:
        return await self._update_attempt(
            email, status=EmailStatus.UNCONFIRMED.value, failed_at=func.now(), last_error=error
        )

    async def recover(self, email: ClaimedEmail, error: str) -> bool:
        return await self._update_attempt(
            email,
            status=EmailStatus.PENDING.value,
            next_attempt_at=func.now(),
            recovered_attempts=emails.c.recovered_attempts + 1,
            last_error=error,
        )

    async def resend_doubtful(self, email: ClaimedEmail, retry_at: datetime, error: str) -> bool:
        return await self._update_attempt(
            email,
            status=EmailStatus.PENDING.value,
            next_attempt_at=retry_at,
            doubtful_resends=emails.c.doubtful_resends + 1,
            last_error=error,
        )

    async def stale(self, lease: timedelta) -> list[StaleAttempt]:
        driver = await self._uow.driver()
        return [_stale(dict(row)) for row in await driver.fetch(_STALE, lease)]

    async def _update_attempt(self, email: ClaimedEmail, **values: Any) -> bool:
        statement = (
            update(emails)
            .where(
                emails.c.id == email.id,
                emails.c.status == EmailStatus.SENDING.value,
                emails.c.claimed_at == email.claimed_at,
            )
            .values(**values)
        )
        result = await self._uow.session.execute(statement)
        return bool(getattr(result, "rowcount", 0))


def queuing(
    order_id: UUID, kind: EmailKind, to_address: str, notice: DelayNotice | None = None
) -> Select[Any]:
    """The statement that queues an email and, only if it did (a second one of a kind
    kept to one is not), NOTIFYs the sender at commit: its id, or no row."""
    content: dict[str, object] = {}
    if notice is not None:
        content = {"is_preorder": notice.is_preorder, "release_date": notice.release_date}
    queued = (
        pg_insert(emails)
        .values(
            order_id=order_id,
            kind=kind.value,
            to_address=to_address,
            traceparent=outgoing_traceparent(),
            **content,
        )
        .on_conflict_do_nothing()
        .returning(emails.c.id)
        .cte("queued")
    )
    return select(queued.c.id, func.pg_notify(EMAILS_CHANNEL, "")).select_from(queued)


def _stale(row: dict[str, Any]) -> StaleAttempt:
    stage = row.pop("smtp_stage")
    return StaleAttempt(_claimed(row), None if stage is None else SmtpStage(stage))


def _claimed(row: Any) -> ClaimedEmail:
    values = {**row, "kind": EmailKind(row["kind"])}
    is_preorder, release_date = values.pop("is_preorder"), values.pop("release_date")
    notice = None if is_preorder is None else DelayNotice(is_preorder, release_date)
    refund = values.pop("refund_notice")
    refund_notice = None if refund is None else RefundNotice.from_json(refund)
    summary = parse_summary(values.pop("order_summary"))
    return ClaimedEmail(**values, notice=notice, refund_notice=refund_notice, summary=summary)


# The per-email statements of the sender, as plain SQL on the driver
# (`UnitOfWork.driver()`), with the values of EmailStatus, SmtpStage and EmailKind
# spelled out. The columns of an attempt, as `_claimed` reads them:
_ATTEMPT = """
    emails.id, emails.order_id, emails.kind, emails.to_address, emails.attempts,
    coalesce(
        (SELECT deliveries.key_count FROM deliveries
         WHERE deliveries.order_id = emails.order_id),
        0
    ) AS key_count,
    emails.message_id, emails.claimed_at, emails.doubtful_resends, emails.is_preorder,
    emails.release_date, emails.notice AS refund_notice,
    (SELECT order_summaries.summary FROM order_summaries
     WHERE order_summaries.order_id = emails.order_id) AS order_summary,
    emails.traceparent"""
# An attempt claimed, and whether another email is due.
_CLAIM_DUE = f"""\
UPDATE emails SET
    status = 'sending',
    attempts = emails.attempts + 1,
    claimed_at = clock_timestamp(),
    message_id = coalesce(emails.message_id, $1),
    smtp_stage = 'before_data'
WHERE emails.id = (
    SELECT due.id FROM emails AS due
    WHERE due.status = 'pending' AND due.next_attempt_at <= now()
    ORDER BY due.next_attempt_at, due.id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING {_ATTEMPT},
    EXISTS (
        SELECT 1 FROM emails AS other
        WHERE other.status = 'pending' AND other.next_attempt_at <= now()
            AND other.id != emails.id
    ) AS more_due"""  # noqa: S608 - no value in the text
_STALE = f"""\
SELECT {_ATTEMPT}, emails.smtp_stage FROM emails
WHERE emails.status = 'sending' AND emails.claimed_at < now() - $1::interval
ORDER BY emails.id
FOR UPDATE OF emails SKIP LOCKED"""  # noqa: S608 - no value in the text
_REACH_DATA = (
    "UPDATE emails SET smtp_stage = 'data' WHERE id = $1 AND status = 'sending' AND claimed_at = $2"
)
# Sent, the delivery marked emailed if it is the delivery email, and the events given
# ($3 to $7, `outbox_arrays`) queued only if the attempt was ours: how many attempts were
# ours (0: taken back as stale, nothing changed).
_FINISH_SENT = (
    "WITH sent AS ("  # noqa: S608 - no value in the text, only outbox_insert SQL
    " UPDATE emails SET status = 'sent', sent_at = now()"
    " WHERE id = $1 AND status = 'sending' AND claimed_at = $2"
    " RETURNING order_id, kind"
    "), emailed AS ("
    " UPDATE deliveries SET emailed_at = now() FROM sent"
    " WHERE sent.kind = 'delivery' AND deliveries.order_id = sent.order_id"
    " AND deliveries.emailed_at IS NULL"
    f"), events AS ({outbox_insert(3, only_if='EXISTS (SELECT 1 FROM sent)')})"
    " SELECT count(*) FROM sent"
)


def updated(status: str) -> bool:
    """Whether an UPDATE's status (``UPDATE <n>``) says it changed a row."""
    return status.rpartition(" ")[2] != "0"
