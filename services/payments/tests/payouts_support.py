"""Helpers of the payout tests: a NOWPayments sandbox whose payout IPNs reach the
service's edge, a payout runner on the service's database, approved refunds."""

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
from payments_support import fetch
from sqlalchemy import select, update

from bitloot_payments.adapters.nowpayments import NowPaymentsClient, RetryPolicy
from bitloot_payments.adapters.orm import payout_ipns, payouts, refunds
from bitloot_payments.adapters.payouts import NowPaymentsPayouts
from bitloot_payments.adapters.unit_of_work import PaymentsUnitOfWork
from bitloot_payments.domain.records import Refund
from bitloot_payments.handlers.payouts import PayoutRunner
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.tables import outbox
from bitloot_sandbox_common.serving import serve
from bitloot_sandbox_nowpayments.app import create_app
from bitloot_sandbox_nowpayments.config import NowPaymentsSandboxConfig
from bitloot_sandbox_nowpayments.sandbox import NowPaymentsSandbox

API_KEY = "test-nowpayments-api-key"
IPN_SECRET = "ipn-secret-current"
EMAIL, PASSWORD = "sandbox@nowpayments.test", "sandbox-nowpayments-password"
TWO_FA = "KRSXG5CTMVRXEZLUKN2XAZLSONSWG4TF"
ADDRESS = "TEmGwPeRTPiLFLVfBxXkSP91yc5GMNQhfS"
PAYOUT_IPN_URL = "http://test/payments/payout-ipn"
FAST = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02)


def sandbox_config(**changes: Any) -> NowPaymentsSandboxConfig:
    """The sandbox as the payout tests need it: our credentials, quick payouts."""
    fields: dict[str, Any] = {
        "api_key": API_KEY,
        "ipn_secret": IPN_SECRET,
        "email": EMAIL,
        "password": PASSWORD,
        "two_fa_secret": TWO_FA,
        "payout_delay": 0.01,
        "callback_backoff": 0.01,
        **changes,
    }
    return NowPaymentsSandboxConfig(**fields)


@dataclass
class Payouts:
    """The sandbox's state, and a runner paying out through it (`nowpayments` holds the
    token its payouts client uses)."""

    sandbox: NowPaymentsSandbox
    runner: PayoutRunner
    nowpayments: NowPaymentsClient

    async def settle(self) -> None:
        """A pass of the runner, every payout IPN it caused at the edge, another pass."""
        await self.runner()
        await self.sandbox.idle()
        await self.runner()


def payouts_client(
    http: httpx.AsyncClient,
    base_url: str,
    timeout: float,
    *,
    two_fa: str | None = TWO_FA,
    password: str = PASSWORD,
    retry: RetryPolicy = FAST,
) -> tuple[NowPaymentsClient, NowPaymentsPayouts]:
    """Our payouts client of the sandbox at `base_url` (and the client holding its token)."""
    nowpayments = NowPaymentsClient(
        base_url, API_KEY, http, retry=retry, credentials=(EMAIL, password)
    )
    client = NowPaymentsPayouts(
        nowpayments, two_fa_secret=two_fa, timeout=httpx.Timeout(timeout), retry=retry
    )
    return nowpayments, client


@asynccontextmanager
async def paying(
    runtime: ServiceRuntime,
    edge: httpx.ASGITransport,
    *,
    lookup_after: float = 0.3,
    poll_after: float = 0.3,
    timeout: float = 5.0,
) -> AsyncIterator[Payouts]:
    """A sandbox served on a port of this process (so that timeouts are real) whose IPNs
    go to the service's `edge`, and a runner (driven by the test through `drain`) that
    asks it for payouts."""
    app = create_app(sandbox_config(), callback_transport=edge)
    try:
        async with serve(app, "127.0.0.1", 0) as base_url, httpx.AsyncClient() as http:
            nowpayments, client = payouts_client(http, base_url, timeout)
            runner = PayoutRunner(
                runtime.units_of_work(PaymentsUnitOfWork),
                client,
                ipn_callback_url=PAYOUT_IPN_URL,
                poll_after=timedelta(seconds=poll_after),
                lookup_after=timedelta(seconds=lookup_after),
            )
            yield Payouts(app.state.sandbox, runner, nowpayments)
    finally:
        await app.state.sandbox.aclose()


async def approved_refund(
    runtime: ServiceRuntime, order_id: str, amount: str = "12.5", currency: str = "usdttrc20"
) -> int:
    """A refund of `order_id`, claimed to `ADDRESS` and approved; its id."""
    refund = Refund(
        order_id=order_id,  # type: ignore[arg-type]
        amount=Decimal(amount),
        currency=currency,
        reason="order_failed",
        requested_by="system",
    )
    async with runtime.units_of_work(PaymentsUnitOfWork)() as uow:
        refund_id = await uow.refunds.add(refund)
        await uow.session.execute(
            update(refunds)
            .where(refunds.c.id == refund_id)
            .values(status="approved", payout_address=ADDRESS)
        )
        await uow.commit()
    return refund_id


async def approve_again(runtime: ServiceRuntime, refund_id: int) -> None:
    """What an admin's re-approval of a failed refund does to its row."""
    async with runtime.units_of_work(PaymentsUnitOfWork)() as uow:
        statement = update(refunds).where(refunds.c.id == refund_id, refunds.c.status == "failed")
        statement = statement.values(status="approved").returning(refunds.c.id)
        assert await uow.session.scalar(statement) == refund_id
        await uow.commit()


async def refund_row(runtime: ServiceRuntime, refund_id: int) -> dict[str, Any]:
    [row] = await fetch(runtime, select(refunds).where(refunds.c.id == refund_id))
    return row


async def payout_rows(runtime: ServiceRuntime, refund_id: int) -> list[dict[str, Any]]:
    query = select(payouts).where(payouts.c.refund_id == refund_id).order_by(payouts.c.attempt)
    return await fetch(runtime, query)


async def refund_events(runtime: ServiceRuntime, refund_id: int) -> list[dict[str, Any]]:
    """The refund.status_changed events of the refund in the outbox, oldest first."""
    query = select(outbox.c.body).where(outbox.c.topic == "refund.status_changed")
    bodies = [json.loads(row["body"]) for row in await fetch(runtime, query.order_by(outbox.c.id))]
    return [body for body in bodies if body["refund_id"] == refund_id]


async def ipn_results(runtime: ServiceRuntime) -> list[tuple[bool, str]]:
    query = select(payout_ipns.c.signature_valid, payout_ipns.c.result).order_by(payout_ipns.c.id)
    return [(r["signature_valid"], r["result"]) for r in await fetch(runtime, query)]


def ledger_of(sandbox: NowPaymentsSandbox, refund_id: int) -> list[str]:
    """The unique_external_id of every payout NOWPayments holds for the refund."""
    mine = f"refund-{refund_id}"
    return [
        str(w.unique_external_id)
        for w in sandbox.payouts.withdrawals.values()
        if w.unique_external_id == mine or str(w.unique_external_id).startswith(mine + "-")
    ]
