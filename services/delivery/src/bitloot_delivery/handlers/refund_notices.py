"""refund.status_changed and refund.claim_link_requested: queue the customer's refund
emails. None carries a key; delivery.completed / delivery.failed are about the keys email
only, so these emit nothing.

- `due`: one `refund_due` email per refund (what happened, how much, the claim link);
- `sent` / `refunded_outside`: one `refund_sent` email per refund (the transaction id,
  or the admin's note);
- any other status: nothing to tell the customer by email (payments' pages show it);
- a claim link asked for (the old one expired): a `claim_link` email, at most one per
  refund per hour, whatever the customer clicks.

A redelivered event is stopped by the inbox, a second event for the same refund by the
email log's partial unique indexes.
"""

import logging
from datetime import UTC, datetime, timedelta

from bitloot_contracts.events import RefundClaimLinkRequested, RefundStatusChanged
from bitloot_delivery.domain.emails import EmailKind
from bitloot_delivery.domain.refund_notices import RefundNotice
from bitloot_delivery.handlers.ports import DeliveryWork

logger = logging.getLogger(__name__)

CLAIM_LINK_INTERVAL = timedelta(hours=1)

_EMAIL_OF_STATUS = {
    "due": EmailKind.REFUND_DUE,
    "sent": EmailKind.REFUND_SENT,
    "refunded_outside": EmailKind.REFUND_SENT,
}


class QueueRefundNotice:
    """The refund.status_changed handler."""

    async def __call__(self, event: RefundStatusChanged, uow: DeliveryWork) -> None:
        extra = {"refund_id": event.refund_id, "refund_status": event.status}
        kind = _EMAIL_OF_STATUS.get(event.status)
        if kind is None:
            logger.info("refund status needs no email", extra=extra)
            return
        outside = event.status == "refunded_outside"
        notice = RefundNotice(
            refund_id=event.refund_id,
            order_id=event.order_id,
            reason=event.reason,
            cause=event.cause,
            amount=event.amount,
            currency=event.currency,
            outside=outside,
            transaction_id=None if kind is EmailKind.REFUND_DUE else event.transaction_id,
            # Only the admin's note on a refund made outside BitLoot is for the customer (on a
            # sent payout the note may be an error meant for admins).
            note=event.note if outside else None,
        )
        email_id = await uow.notices.queue_refund(kind, event.customer_email, notice)
        if email_id is None:
            logger.info("refund email already queued; not sent again", extra=extra)
            return
        logger.info("refund email queued", extra={**extra, "email_kind": kind.value})


class QueueClaimLink:
    """The refund.claim_link_requested handler. The order's lock makes the hourly limit
    hold against two requests handled at once."""

    async def __call__(self, event: RefundClaimLinkRequested, uow: DeliveryWork) -> None:
        extra = {"refund_id": event.refund_id}
        await uow.deliveries.lock_order(event.order_id)
        notices = uow.notices
        since = datetime.now(UTC) - CLAIM_LINK_INTERVAL
        if await notices.claim_links_since(event.refund_id, since) > 0:
            logger.info("claim link already emailed within the hour; nothing sent", extra=extra)
            return
        notice = await notices.refund_notice(event.refund_id)
        if notice is None:
            # Only a refund delivery heard of as due has an amount to state; an admin can
            # resend the refund_due email once it is known.
            logger.error("claim link asked for a refund never emailed as due", extra=extra)
            return
        await notices.queue_refund(EmailKind.CLAIM_LINK, event.customer_email, notice)
        logger.info("claim link queued", extra=extra)
