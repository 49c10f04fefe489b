"""Receiving a payout IPN: authenticate it, store it once, answer.

As for payment IPNs, only what must happen before the answer happens here: the signature
is checked (current and previous IPN secret) and the IPN stored in `payout_ipns` in one
short transaction; the payout runner, woken by `wake`, applies it. A refused one is
stored too (`signature_valid` false) and logged, and changes nothing; an authentic body
received again is a duplicate, answered without being stored twice.
"""

import logging
from collections.abc import Callable, Sequence

from bitloot_payments.adapters.payout_ipn import BadPayoutIpn, verified_payout
from bitloot_payments.handlers.ports import PaymentsWork, PayoutIpnEntry

logger = logging.getLogger(__name__)


class PayoutIpnReceiver:
    """Handles payout IPNs at the edge."""

    def __init__(
        self,
        unit_of_work: Callable[[], PaymentsWork],
        secrets: Sequence[str],
        wake: Callable[[], None],
    ) -> None:
        self._unit_of_work = unit_of_work
        self._secrets = tuple(secrets)
        self._wake = wake

    async def __call__(self, body: bytes, signature: str | None, client: str) -> bool:
        """Store an authentic payout IPN; False for a duplicate. Raises `BadPayoutIpn`
        after logging a refused one."""
        try:
            payout = verified_payout(body, signature, self._secrets)
        except BadPayoutIpn as exc:
            await self._log(PayoutIpnEntry(body, False, exc.code))
            logger.warning("payout IPN refused", extra={"client": client, "reason": exc.code})
            raise
        entry = PayoutIpnEntry(body, True, "pending", payout.id, payout.status)
        stored = await self._log(entry)
        if stored is None:
            logger.info("payout IPN duplicate", extra={"payout_id": payout.id})
            return False
        self._wake()
        logger.info(
            "payout IPN stored",
            extra={"ipn_id": stored, "payout_id": payout.id, "status": payout.status},
        )
        return True

    async def _log(self, entry: PayoutIpnEntry) -> int | None:
        async with self._unit_of_work() as uow:
            stored = await uow.payouts.log_ipn(entry)
            await uow.commit()
        return stored
