"""IPNs: signed like NOWPayments signs them, sent in sequence as a payment progresses.

The body is written as NOWPayments' JavaScript writes it (`js_json.stringify`: keys sorted
at every level, compact, numbers such as ``0.000002`` as JavaScript prints them) and
``x-nowpayments-sig`` is the hex HMAC-SHA512, keyed with the IPN secret, of exactly those
bytes. Arrays (``payment_extra_ids``) stay arrays: the docs' Node ``sortObject`` would turn
them into objects, and what NOWPayments signs then is not documented.
"""

import asyncio
import hashlib
import hmac
import logging
from datetime import UTC, datetime
from decimal import Decimal

from bitloot_sandbox_common.callbacks import CallbackSender, Delivery, Tasks
from bitloot_sandbox_nowpayments.faults import NowPaymentsFaults
from bitloot_sandbox_nowpayments.js_json import stringify
from bitloot_sandbox_nowpayments.payment import IpnRecord, Json, Payment
from bitloot_sandbox_nowpayments.store import SEQUENCES, Invoice, later

logger = logging.getLogger(__name__)


def serialise(body: Json) -> bytes:
    """The body as NOWPayments signs and sends it."""
    return stringify(body).encode()


def sign(content: bytes, secret: str) -> str:
    """``x-nowpayments-sig``: hex HMAC-SHA512 of `content` with the IPN secret."""
    return hmac.new(secret.encode(), content, hashlib.sha512).hexdigest()


async def post_signed(
    sender: CallbackSender, url: str, body: Json, secret: str, faults: NowPaymentsFaults
) -> list[Delivery]:
    """POST `body` to `url` signed with `secret`, once and `duplicate_callbacks` more times;
    what became of each."""
    content = serialise(body)
    headers = {"content-type": "application/json", "x-nowpayments-sig": sign(content, secret)}
    return [await sender.post(url, content, headers) for _ in range(1 + faults.duplicate_callbacks)]


class Payer:
    """Pays invoices: moves a payment along its sequence, one signed IPN per status."""

    def __init__(
        self,
        *,
        ipn_secret: str,
        sender: CallbackSender,
        tasks: Tasks,
        faults: NowPaymentsFaults,
        delay: float,
    ) -> None:
        self._secret = ipn_secret
        self._sender = sender
        self._tasks = tasks
        self._faults = faults
        self.delay = delay

    def start(
        self, invoice: Invoice, payment: Payment, outcome: str, actually_paid: Decimal | None
    ) -> None:
        """Run the payment to `outcome` (a key of `SEQUENCES`) in the background; once the
        funds are seen it has `actually_paid` (default: what `outcome` implies)."""
        # A failed payment failed after its funds were seen (it passed confirming).
        implied = payment.full_amount("confirming" if outcome == "failed" else outcome)
        paid = implied if actually_paid is None else actually_paid
        work = self._run(invoice, payment, SEQUENCES[outcome], paid)
        self._tasks.spawn(work, name=f"ipn-{payment.payment_id}")

    def send(self, invoice: Invoice, payment: Payment, body: Json) -> None:
        """Send one IPN with `body` in the background."""
        self._tasks.spawn(self._notify(invoice, payment, body), name=f"ipn-{payment.payment_id}")

    async def _run(
        self, invoice: Invoice, payment: Payment, statuses: tuple[str, ...], paid: Decimal
    ) -> None:
        def step(status: str, at: datetime) -> Json:
            return payment.move(status, at, None if status == "waiting" else paid)

        if self._faults.reorder_callbacks:
            # The payment reached its outcome; the IPNs arrive newest first.
            start = datetime.now(UTC)
            bodies = [step(s, later(start, i)) for i, s in enumerate(statuses)]
            for index, body in enumerate(reversed(bodies)):
                if index:
                    await asyncio.sleep(self.delay)
                await self._notify(invoice, payment, body)
            return
        for index, status in enumerate(statuses):
            if index:
                await asyncio.sleep(self.delay)
            await self._notify(invoice, payment, step(status, datetime.now(UTC)))

    async def _notify(self, invoice: Invoice, payment: Payment, body: Json) -> None:
        url = invoice.ipn_callback_url
        if not url:
            return
        status = str(body["payment_status"])
        if self._faults.take_drop():
            payment.ipns.append(IpnRecord(status, url, None))
            logger.info("ipn dropped", extra={"payment_id": payment.payment_id, "status": status})
            return
        for delivery in await post_signed(self._sender, url, body, self._secret, self._faults):
            payment.ipns.append(IpnRecord(status, url, delivery))
        logger.info(
            "ipn sent",
            extra={
                "payment_id": payment.payment_id,
                "payment_status": status,
                "order_id": invoice.order_id,
            },
        )
