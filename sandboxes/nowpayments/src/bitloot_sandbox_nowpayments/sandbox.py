"""The sandbox's state and behaviour, independent of HTTP: `app.state.sandbox`."""

from datetime import UTC, datetime
from decimal import Decimal

import httpx

from bitloot_sandbox_common.callbacks import CallbackSender, Tasks
from bitloot_sandbox_nowpayments.config import NowPaymentsSandboxConfig
from bitloot_sandbox_nowpayments.faults import NowPaymentsFaults
from bitloot_sandbox_nowpayments.ipn import Payer
from bitloot_sandbox_nowpayments.payment import Payment
from bitloot_sandbox_nowpayments.payouts import PayoutDesk
from bitloot_sandbox_nowpayments.store import RATES, Invoice, NewInvoice, Store
from bitloot_sandbox_nowpayments.tokens import Tokens


class NowPaymentsSandbox:
    """Invoices, payments, payouts, faults, JWTs and the IPN machinery of one sandbox.

    `auto_pay` and `payer.delay` start from the config and may be changed at run time
    (``POST /sandbox/config``).
    """

    def __init__(
        self,
        config: NowPaymentsSandboxConfig,
        callback_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.store = Store()
        self.faults = NowPaymentsFaults()
        self.tokens = Tokens(config.token_ttl)
        self.tasks = Tasks()
        self.sender = CallbackSender.configured(config, callback_transport)
        self.payer = Payer(
            ipn_secret=config.ipn_secret,
            sender=self.sender,
            tasks=self.tasks,
            faults=self.faults,
            delay=config.ipn_delay,
        )
        self.auto_pay = config.auto_pay
        self.payouts = PayoutDesk(
            ipn_secret=config.ipn_secret,
            two_fa_secret=config.two_fa_secret,
            balance={currency: Decimal(str(config.payout_balance)) for currency in RATES},
            sender=self.sender,
            tasks=self.tasks,
            faults=self.faults,
            delay=config.payout_delay,
        )

    def create_invoice(self, new: NewInvoice, base_url: str) -> Invoice:
        """Record an invoice; pay it at once when `auto_pay` is on."""
        invoice = self.store.create_invoice(new, self.config.public_url or base_url)
        if self.auto_pay:
            self.pay(invoice, "finished", None)
        return invoice

    def pay(
        self,
        invoice: Invoice,
        outcome: str,
        pay_currency: str | None,
        actually_paid: Decimal | None = None,
    ) -> Payment:
        """A new payment of `invoice`, taken to `outcome` with its IPNs in the background;
        `actually_paid` overrides what the customer sends (an over- or underpayment)."""
        currency = pay_currency or invoice.pay_currency or self.config.default_pay_currency
        payment = self.store.create_payment(invoice, currency)
        self.payer.start(invoice, payment, outcome, actually_paid)
        return payment

    def set_status(self, payment: Payment, status: str, actually_paid: Decimal | None) -> None:
        """Move `payment` to `status` now (backwards too) and send one IPN about it."""
        body = payment.move(status, datetime.now(UTC), actually_paid)
        self.payer.send(self.store.invoices[payment.invoice_id], payment, body)

    def redeposit(self, parent: Payment, status: str, actually_paid: Decimal | None) -> Payment:
        """A repeated deposit to `parent`'s address, at `status` at once, with its IPN."""
        child = self.store.create_redeposit(parent)
        self.set_status(child, status, actually_paid)
        return child

    async def idle(self) -> None:
        """Wait until every IPN under way has been sent (or given up)."""
        await self.tasks.idle()

    async def aclose(self) -> None:
        """Stop sending and close the HTTP client (the app's lifespan does this)."""
        await self.tasks.aclose()
        await self.sender.aclose()
