"""IPNs: signed like NOWPayments signs them, sent in sequence as a payment progresses."""

import asyncio
import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime

from bitloot_sandbox_common.callbacks import CallbackSender, Tasks
from bitloot_sandbox_common.faults import Faults
from bitloot_sandbox_nowpayments.store import SEQUENCES, Invoice, Json, Payment, SentIpn, later

logger = logging.getLogger(__name__)


def serialise(body: Json) -> bytes:
    """The body as NOWPayments signs and sends it: keys sorted, compact separators."""
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


def sign(body: Json, secret: str) -> str:
    """``x-nowpayments-sig``: hex HMAC-SHA512 of `serialise(body)` with the IPN secret."""
    return hmac.new(secret.encode(), serialise(body), hashlib.sha512).hexdigest()


class Payer:
    """Pays invoices: moves a payment along its sequence, one signed IPN per status."""

    def __init__(
        self,
        *,
        ipn_secret: str,
        sender: CallbackSender,
        tasks: Tasks,
        faults: Faults,
        delay: float,
    ) -> None:
        self._secret = ipn_secret
        self._sender = sender
        self._tasks = tasks
        self._faults = faults
        self.delay = delay

    def start(self, invoice: Invoice, payment: Payment, outcome: str) -> None:
        """Run the payment to `outcome` (a key of `SEQUENCES`) in the background."""
        self._tasks.spawn(self._run(invoice, payment, outcome), name=f"ipn-{payment.payment_id}")

    async def _run(self, invoice: Invoice, payment: Payment, outcome: str) -> None:
        statuses = SEQUENCES[outcome]
        if self._faults.reorder_callbacks:
            # The payment reached its outcome; the IPNs arrive newest first.
            start = datetime.now(UTC)
            bodies = [payment.advance(s, later(start, i)) for i, s in enumerate(statuses)]
            for index, body in enumerate(reversed(bodies)):
                if index:
                    await asyncio.sleep(self.delay)
                await self._notify(invoice, payment, body)
            return
        for index, status in enumerate(statuses):
            if index:
                await asyncio.sleep(self.delay)
            await self._notify(invoice, payment, payment.advance(status, datetime.now(UTC)))

    async def _notify(self, invoice: Invoice, payment: Payment, body: Json) -> None:
        url = invoice.ipn_callback_url
        if not url:
            return
        headers = {
            "content-type": "application/json",
            "x-nowpayments-sig": sign(body, self._secret),
        }
        content = serialise(body)
        status = str(body["payment_status"])
        for _ in range(1 + self._faults.duplicate_callbacks):
            delivery = await self._sender.post(url, content, headers)
            payment.ipns.append(SentIpn(status, delivery))
        logger.info(
            "ipn sent",
            extra={
                "payment_id": payment.payment_id,
                "payment_status": status,
                "order_id": invoice.order_id,
            },
        )
