"""An admin's explicit resend of a notice (refund_due, refund_sent, delayed): a new email
of that kind saying the same, to the same address, with `resend_of` naming the one it
repeats (so the one-per-refund and one-per-order indexes, which stop duplicated events,
let it through). A refund_due resend carries a new claim link, minted when it is sent.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from bitloot_delivery.domain.emails import RESENDABLE, EmailKind
from bitloot_delivery.handlers.ports import DeliveryWork
from bitloot_runtime.logging import log_context

logger = logging.getLogger(__name__)


class NoSuchNotice(Exception):
    """The order never had such a notice go out (or be tried): nothing to resend."""


@dataclass(kw_only=True, eq=False, repr=False)
class ResendNotice:
    unit_of_work: Callable[[], DeliveryWork]

    async def __call__(
        self, order_id: UUID, kind: EmailKind, actor: str, refund_id: int | None = None
    ) -> int:
        """Queue the resend; its email id, or `NoSuchNotice`."""
        assert kind in RESENDABLE
        with log_context(order_id=str(order_id)):
            async with self.unit_of_work() as uow:
                email_id = await uow.notices.resend(order_id, kind, actor, refund_id)
                if email_id is None:
                    raise NoSuchNotice(f"No {kind.value} email was sent for order {order_id}.")
                await uow.commit()
            logger.info("notice resent", extra={"email_kind": kind.value, "actor": actor})
        return email_id
