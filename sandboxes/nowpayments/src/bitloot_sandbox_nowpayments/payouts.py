"""Payouts: the account's balance, batches of withdrawals, 2FA verification, and each
withdrawal's progress with one signed IPN per status.

Documented ("Mass payouts"): a payout is created in ``creating`` and processed only once
verified with the 2FA code (``POST /v1/payout/{id}/verify``, 10 attempts); it then goes
waiting, processing, sending, finished (or failed, rejected). Its IPNs are signed like
payment IPNs. The docs are silent on what follows, so the sandbox chooses:

- the amount is taken from the balance when the payout is created (it shows as
  ``pendingAmount``) and given back when the payout fails or is rejected;
- a ``unique_external_id`` already used is accepted (nothing documents a refusal): a
  client must look its payouts up itself before it asks again;
- a right code for a batch already verified answers ``OK`` and changes nothing;
- what happens to each payout is set by the controls (`fates`): finished (default),
  failed, rejected, or stall (it stays in processing until moved by hand).
"""

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum

import pyotp

from bitloot_sandbox_common.callbacks import CallbackSender, Tasks
from bitloot_sandbox_nowpayments.faults import NowPaymentsFaults
from bitloot_sandbox_nowpayments.ipn import post_signed
from bitloot_sandbox_nowpayments.payment import Json, number
from bitloot_sandbox_nowpayments.withdrawal import (
    FINAL,
    RETURNED,
    NewWithdrawal,
    PayoutIpnRecord,
    Withdrawal,
)

logger = logging.getLogger(__name__)

# The statuses a payout goes through after verification, for each fate.
FATES: dict[str, tuple[str, ...]] = {
    "finished": ("waiting", "processing", "sending", "finished"),
    "failed": ("waiting", "processing", "failed"),
    "rejected": ("waiting", "rejected"),
    "stall": ("waiting", "processing"),
}
ERRORS = {
    "failed": "Withdrawal failed: the network refused the transaction",
    "rejected": "Withdrawal rejected by NOWPayments' compliance check",
}
# Documented: "You'll have 10 attempts to verify the payout."
VERIFY_ATTEMPTS = 10


class Verification(Enum):
    """What a verify call came to."""

    VERIFIED = "verified"
    WRONG_CODE = "wrong_code"
    NO_ATTEMPTS_LEFT = "no_attempts_left"


@dataclass(frozen=True)
class InsufficientBalance(Exception):
    """A payout larger than the available balance of its currency."""

    currency: str
    requested: Decimal
    available: Decimal


@dataclass
class Batch:
    """One ``POST /v1/payout``: its withdrawals and its verification."""

    id: int
    withdrawals: list[Withdrawal]
    attempts: int = 0
    verified: bool = False
    fates: list[str] = field(default_factory=list)


class PayoutDesk:
    """Every batch and withdrawal, the balance, and the IPN machinery of payouts."""

    def __init__(
        self,
        *,
        ipn_secret: str,
        two_fa_secret: str,
        balance: dict[str, Decimal],
        sender: CallbackSender,
        tasks: Tasks,
        faults: NowPaymentsFaults,
        delay: float,
    ) -> None:
        self._secret = ipn_secret
        self._totp = pyotp.TOTP(two_fa_secret)
        self._sender = sender
        self._tasks = tasks
        self._faults = faults
        self.delay = delay
        self.funds = dict(balance)
        self.batches: dict[int, Batch] = {}
        self.withdrawals: dict[int, Withdrawal] = {}
        self.fates: list[str] = []
        self._next_batch = 5_000_000_712
        self._next_withdrawal = 5_000_248_324

    def create(self, news: list[NewWithdrawal], batch_url: str | None) -> Batch:
        """A new batch in ``creating``, its amounts taken from the balance; nothing is
        recorded when one currency's balance is short (`InsufficientBalance`)."""
        wanted: dict[str, Decimal] = {}
        for new in news:
            wanted[new.currency] = wanted.get(new.currency, Decimal(0)) + new.amount
        for currency, amount in wanted.items():
            if amount > self.available(currency):
                raise InsufficientBalance(currency, amount, self.available(currency))
        self._next_batch += 1
        now = datetime.now(UTC)
        batch = Batch(self._next_batch, [self._withdrawal(new, batch_url, now) for new in news])
        batch.fates = [self.fates.pop(0) if self.fates else "finished" for _ in news]
        self.batches[batch.id] = batch
        for withdrawal in batch.withdrawals:
            self.withdrawals[withdrawal.id] = withdrawal
            self._send(withdrawal, [withdrawal.ipn_body()])
        return batch

    def verify(self, batch: Batch, code: str) -> Verification:
        """Check the 2FA `code`; the first right one starts the batch's payouts."""
        if batch.verified:
            return (
                Verification.VERIFIED
                if self._totp.verify(code, valid_window=1)
                else (Verification.WRONG_CODE)
            )
        if batch.attempts >= VERIFY_ATTEMPTS:
            return Verification.NO_ATTEMPTS_LEFT
        batch.attempts += 1
        if not self._totp.verify(code, valid_window=1):
            return Verification.WRONG_CODE
        batch.verified = True
        for withdrawal, fate in zip(batch.withdrawals, batch.fates, strict=True):
            self._tasks.spawn(self._run(withdrawal, FATES[fate]), name=f"payout-{withdrawal.id}")
        return Verification.VERIFIED

    def move(self, withdrawal: Withdrawal, status: str, error: str | None) -> None:
        """Move `withdrawal` to `status` now (the controls) and send one IPN about it."""
        self._step(withdrawal, status, error)
        self._send(withdrawal, [withdrawal.ipn_body()])

    def available(self, currency: str) -> Decimal:
        """The funds of `currency` no payout holds: all paid in, less every payout that
        did not fail or get rejected."""
        held = sum(
            (
                w.amount
                for w in self.withdrawals.values()
                if w.currency == currency and w.status not in RETURNED
            ),
            Decimal(0),
        )
        return self.funds.get(currency, Decimal(0)) - held

    def pending(self, currency: str) -> Decimal:
        """The funds of `currency` held by payouts not final yet."""
        return sum(
            (
                w.amount
                for w in self.withdrawals.values()
                if w.currency == currency and w.status not in FINAL
            ),
            Decimal(0),
        )

    def balance(self) -> Json:
        """``GET /v1/balance``: ``{currency: {"amount", "pendingAmount"}}`` (numbers)."""
        return {
            currency: {
                "amount": number(self.available(currency)),
                "pendingAmount": number(self.pending(currency)),
            }
            for currency in sorted(self.funds)
        }

    def _withdrawal(self, new: NewWithdrawal, batch_url: str | None, now: datetime) -> Withdrawal:
        self._next_withdrawal += 1
        return Withdrawal(
            id=self._next_withdrawal,
            batch_id=self._next_batch,
            address=new.address,
            currency=new.currency,
            amount=new.amount,
            extra_id=new.extra_id,
            ipn_callback_url=new.ipn_callback_url or batch_url,
            unique_external_id=new.unique_external_id,
            payout_description=new.payout_description,
            created_at=now,
        )

    def _step(self, withdrawal: Withdrawal, status: str, error: str | None) -> None:
        withdrawal.move(status, datetime.now(UTC), error or ERRORS.get(status))

    async def _run(self, withdrawal: Withdrawal, statuses: tuple[str, ...]) -> None:
        if self._faults.reorder_callbacks:
            # The payout reached its outcome; the IPNs arrive newest first.
            bodies = []
            for status in statuses:
                self._step(withdrawal, status, None)
                bodies.append(withdrawal.ipn_body())
            await self._notify(withdrawal, list(reversed(bodies)))
            return
        for status in statuses:
            await asyncio.sleep(self.delay)
            self._step(withdrawal, status, None)
            await self._notify(withdrawal, [withdrawal.ipn_body()])

    def _send(self, withdrawal: Withdrawal, bodies: list[Json]) -> None:
        self._tasks.spawn(self._notify(withdrawal, bodies), name=f"payout-ipn-{withdrawal.id}")

    async def _notify(self, withdrawal: Withdrawal, bodies: list[Json]) -> None:
        url = withdrawal.ipn_callback_url
        for index, body in enumerate(bodies):
            if not url:
                return
            if index:
                await asyncio.sleep(self.delay)
            status = str(body["status"]).lower()
            if self._faults.take_drop():
                withdrawal.ipns.append(PayoutIpnRecord(status, url, None))
                continue
            sent = await post_signed(self._sender, url, body, self._secret, self._faults)
            withdrawal.ipns += [PayoutIpnRecord(status, url, delivery) for delivery in sent]
            logger.info("payout ipn sent", extra={"payout_id": withdrawal.id, "status": status})
