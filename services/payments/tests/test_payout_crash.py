"""Exactly one payout across a crash: the payments service, a real process, is killed
(SIGKILL) after it committed the payout row and NOWPayments recorded the payout, before
NOWPayments' answer arrived; restarted, it finds the payout by our id instead of paying
again, and the refund ends `sent`."""

import os
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

import pytest
from payouts_support import ADDRESS, API_KEY, EMAIL, IPN_SECRET, PASSWORD, TWO_FA, sandbox_config
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import create_async_engine

from bitloot_payments.adapters.orm import orders, payouts, refunds
from bitloot_runtime.settings import DEFAULT_RETRY_DELAYS
from bitloot_runtime.tokens import generate_key_pair
from bitloot_runtime.topology import Topology
from bitloot_sandbox_nowpayments.server import running_app
from bitloot_testing.bus import eventually
from bitloot_testing.net import free_port
from bitloot_testing.processes import ServiceProcess, service_processes
from bitloot_testing.rabbitmq import BusNamespace

# Longer than it takes to kill the service once NOWPayments has the payout.
HOLD_SECONDS = 20
# What the restarted service waits before looking an unanswered payout up: longer than
# its NOWPayments timeout, shorter than the test's patience.
LOOKUP_AFTER = 6


def environment(database_url: str, bus: BusNamespace, nowpayments_url: str) -> dict[str, str]:
    port = free_port()
    return {
        **os.environ,
        "PAYMENTS_DATABASE_URL": database_url,
        "PAYMENTS_AMQP_URL": bus.amqp_url,
        "PAYMENTS_BUS_PREFIX": bus.prefix,
        "PAYMENTS_HTTP_PORT": str(port),
        "PAYMENTS_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "PAYMENTS_INTERNAL_TOKEN": "payments-crash-internal-token",
        "PAYMENTS_ORDER_TOKEN_PRIVATE_KEY": generate_key_pair()[0],
        "PAYMENTS_CLAIM_TOKEN_PUBLIC_KEYS": f"c1:{generate_key_pair()[1]}",
        "PAYMENTS_NOWPAYMENTS_API_URL": nowpayments_url,
        "PAYMENTS_NOWPAYMENTS_API_KEY": API_KEY,
        "PAYMENTS_NOWPAYMENTS_IPN_SECRET": IPN_SECRET,
        "PAYMENTS_NOWPAYMENTS_EMAIL": EMAIL,
        "PAYMENTS_NOWPAYMENTS_PASSWORD": PASSWORD,
        "PAYMENTS_NOWPAYMENTS_2FA_SECRET": TWO_FA,
        "PAYMENTS_PAYOUT_POLL_INTERVAL": "0.5",
        "PAYMENTS_PAYOUT_POLL_AFTER_SECONDS": "3",
        "PAYMENTS_PAYOUT_LOOKUP_AFTER_SECONDS": str(LOOKUP_AFTER),
    }


def payments_processes(
    database_url: str, bus: BusNamespace, nowpayments_url: str, logs: Path
) -> AbstractAsyncContextManager[Callable[[], ServiceProcess]]:
    """Starts payments processes on demand; stops those still running at the end."""
    return service_processes(
        "bitloot_payments",
        "payments",
        lambda: environment(database_url, bus, nowpayments_url),
        logs,
        bus,
        Topology(bus.prefix).names("payments", DEFAULT_RETRY_DELAYS),
    )


async def approve_a_refund(database_url: str) -> int:
    """A paid order and its refund, claimed and approved, written as the claim page and
    the admin's decision would leave them; the refund's id."""
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            order_id = uuid4()
            order = {"order_id": order_id, "email": "buyer@example.com", "status": "paid"}
            await connection.execute(
                insert(orders).values(**order, total=Decimal("25"), currency="usd")
            )
            refund = {"order_id": order_id, "amount": Decimal("25.1"), "currency": "usdttrc20"}
            refund_id = await connection.scalar(
                insert(refunds)
                .values(
                    **refund,
                    reason="order_failed",
                    requested_by="system",
                    status="approved",
                    payout_address=ADDRESS,
                )
                .returning(refunds.c.id)
            )
    finally:
        await engine.dispose()
    return int(refund_id or 0)


async def statuses(database_url: str, refund_id: int) -> tuple[str | None, list[str]]:
    """The refund's status and its payouts' statuses."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            refund = await connection.scalar(
                select(refunds.c.status).where(refunds.c.id == refund_id)
            )
            rows = await connection.execute(
                select(payouts.c.status).where(payouts.c.refund_id == refund_id)
            )
            return refund, [row.status for row in rows]
    finally:
        await engine.dispose()


@pytest.mark.slow
async def test_a_payments_service_killed_while_nowpayments_answers_pays_out_once(
    database_url: str, bus_prefix: BusNamespace, tmp_path: Path
) -> None:
    async with (
        running_app(sandbox_config(port=0, payout_delay=0.05)) as (nowpayments_url, app),
        payments_processes(database_url, bus_prefix, nowpayments_url, tmp_path) as start,
    ):
        sandbox = app.state.sandbox
        first = start()
        await first.ready()  # migrated
        sandbox.faults.update({"hold_payouts": 1, "hold_ms": HOLD_SECONDS * 1000})
        refund_id = await approve_a_refund(database_url)

        async def recorded() -> bool:
            return bool(sandbox.payouts.withdrawals)

        assert await eventually(recorded, timeout=30)
        await first.killed()
        # Killed between the two: the payout row committed, NOWPayments' answer never read.
        assert await statuses(database_url, refund_id) == ("sending", ["requesting"])

        sandbox.faults.reset()
        await start().ready()

        async def sent() -> bool:
            return (await statuses(database_url, refund_id))[0] == "sent"

        assert await eventually(sent, timeout=60), await statuses(database_url, refund_id)
        mine = [
            w
            for w in sandbox.payouts.withdrawals.values()
            if w.unique_external_id == f"refund-{refund_id}"
        ]
    assert len(sandbox.payouts.withdrawals) == 1
    assert len(mine) == 1
    assert mine[0].status == "finished"
    assert await statuses(database_url, refund_id) == ("sent", ["finished"])
