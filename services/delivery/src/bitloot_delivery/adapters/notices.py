"""The notices in the email log: refund emails queued with what they say, an admin's
resend of a notice, and key emails withdrawn when the keys are revoked; always in the
caller's unit of work.

Each notice is an ordinary row of the email log, so the sender's attempts, retries and
doubt handling apply to it unchanged.
"""

from datetime import datetime
from uuid import UUID

from sqlalchemy import func, insert, literal, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from bitloot_delivery.adapters.email_log import EMAILS_CHANNEL
from bitloot_delivery.adapters.orm import emails
from bitloot_delivery.domain.emails import KEY_KINDS, EmailKind, EmailStatus
from bitloot_delivery.domain.refund_notices import RefundNotice
from bitloot_delivery.handlers.ports import Notices
from bitloot_runtime.db import UnitOfWork
from bitloot_runtime.telemetry import outgoing_traceparent

# A notice that never went out (withdrawn or superseded) cannot be "sent again".
_NEVER_SENT = (EmailStatus.SUPERSEDED.value, EmailStatus.WITHDRAWN.value)


class NoticeRepository(Notices):
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def queue_refund(
        self, kind: EmailKind, to_address: str, notice: RefundNotice
    ) -> int | None:
        statement = (
            pg_insert(emails)
            .values(
                order_id=notice.order_id,
                kind=kind.value,
                to_address=to_address,
                refund_id=notice.refund_id,
                notice=notice.to_json(),
                traceparent=outgoing_traceparent(),
            )
            .on_conflict_do_nothing()
            .returning(emails.c.id)
        )
        email_id: int | None = (await self._uow.session.execute(statement)).scalar()
        if email_id is not None:
            await self._notify()
        return email_id

    async def refund_notice(self, refund_id: int) -> RefundNotice | None:
        query = (
            select(emails.c.notice)
            .where(emails.c.refund_id == refund_id, emails.c.kind == EmailKind.REFUND_DUE.value)
            .order_by(emails.c.id.desc())
            .limit(1)
        )
        notice = (await self._uow.session.execute(query)).scalar()
        return None if notice is None else RefundNotice.from_json(notice)

    async def claim_links_since(self, refund_id: int, since: datetime) -> int:
        query = select(func.count()).where(
            emails.c.refund_id == refund_id,
            emails.c.kind == EmailKind.CLAIM_LINK.value,
            emails.c.created_at > since,
        )
        return int((await self._uow.session.execute(query)).scalar_one())

    async def resend(
        self, order_id: UUID, kind: EmailKind, actor: str, refund_id: int | None = None
    ) -> int | None:
        original = (
            select(emails.c.id)
            .where(
                emails.c.order_id == order_id,
                emails.c.kind == kind.value,
                emails.c.status.not_in(_NEVER_SENT),
            )
            .order_by(emails.c.id.desc())
            .limit(1)
        )
        if refund_id is not None:
            original = original.where(emails.c.refund_id == refund_id)
        original_id = (await self._uow.session.execute(original)).scalar()
        if original_id is None:
            return None
        copied = (
            emails.c.order_id,
            emails.c.kind,
            emails.c.to_address,
            emails.c.is_preorder,
            emails.c.release_date,
            emails.c.refund_id,
            emails.c.notice,
        )
        copy = select(*copied, emails.c.id, literal(actor)).where(emails.c.id == original_id)
        statement = (
            insert(emails)
            .from_select([*(c.name for c in copied), "resend_of", "requested_by"], copy)
            .returning(emails.c.id)
        )
        email_id: int = (await self._uow.session.execute(statement)).scalar_one()
        await self._notify()
        return email_id

    async def withdraw_key_emails(self, order_id: UUID) -> int:
        statement = (
            update(emails)
            .where(
                emails.c.order_id == order_id,
                emails.c.kind.in_(sorted(kind.value for kind in KEY_KINDS)),
                emails.c.status == EmailStatus.PENDING.value,
            )
            .values(status=EmailStatus.WITHDRAWN.value)
        )
        result = await self._uow.session.execute(statement)
        return int(getattr(result, "rowcount", 0))

    async def _notify(self) -> None:
        await self._uow.session.execute(text(f"NOTIFY {EMAILS_CHANNEL}"))
