"""Reconciliation against the NOWPayments sandbox, which implements the documented
payment status and list-of-payments endpoints: IPNs that never come (every one dropped,
or the last ones) still end with the order paid once, through the same processor, rules
and flags; an invoice never paid expires; several reconcilers never ask twice."""

import asyncio
import json
from datetime import timedelta

import httpx
import pytest
from payments_support import (
    execute,
    fetch,
    ipn,
    new_order,
    order_row,
    scalar,
    send,
    settled,
    watching,
)
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from sqlalchemy import func, select, update
from starlette.applications import Starlette

from bitloot_payments.adapters.nowpayments import NowPaymentsClient, RetryPolicy
from bitloot_payments.adapters.orm import ipn_log, orders
from bitloot_payments.adapters.unit_of_work import PaymentsUnitOfWork
from bitloot_payments.domain.reconcile import ReconcilePolicy
from bitloot_payments.handlers.reconcile import Reconciler
from bitloot_payments.metrics import PaymentsMetrics
from bitloot_payments.settings import Settings
from bitloot_runtime.service import ServiceRuntime
from bitloot_sandbox_nowpayments.config import NowPaymentsSandboxConfig
from bitloot_sandbox_nowpayments.payment import Payment
from bitloot_sandbox_nowpayments.sandbox import NowPaymentsSandbox
from bitloot_testing.bus import eventually
from bitloot_testing.rabbitmq import BusNamespace

LOGIN = NowPaymentsSandboxConfig()


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """NOWPayments is asked a fraction of a second after each invoice, with the login."""
    return settings.model_copy(
        update={
            "reconcile_after_seconds": 0.3,
            "reconcile_interval": 0.1,
            "reconcile_max_interval_seconds": 0.5,
            "nowpayments_email": LOGIN.email,
            "nowpayments_password": SecretStr(LOGIN.password),
        }
    )


def pay(nowpayments: NowPaymentsSandbox, order_id: str, outcome: str = "finished") -> Payment:
    [invoice] = [i for i in nowpayments.store.invoices.values() if i.order_id == order_id]
    return nowpayments.pay(invoice, outcome, None)


async def polled(runtime: ServiceRuntime, order_id: str) -> list[tuple[str | None, str]]:
    query = (
        select(ipn_log.c.status, ipn_log.c.result)
        .where(ipn_log.c.source == "poll", ipn_log.c.order_id == order_id)
        .order_by(ipn_log.c.id)
    )
    return [(row["status"], row["result"]) for row in await fetch(runtime, query)]


async def reconcile_at(runtime: ServiceRuntime, order_id: str) -> object:
    return (await order_row(runtime, order_id))["reconcile_at"]


def recovered(runtime: ServiceRuntime) -> float:
    value = runtime.metrics.source.get_sample_value("bitloot_payments_recovered_by_poll_total")
    return value or 0.0


async def status_of(runtime: ServiceRuntime, order_id: str) -> str:
    return str((await order_row(runtime, order_id))["status"])


async def test_an_order_whose_every_ipn_is_lost_is_paid_once_by_reconciliation(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    nowpayments: NowPaymentsSandbox,
    bus_prefix: BusNamespace,
    admin: httpx.AsyncClient,
) -> None:
    nowpayments.faults.update({"drop_all_ipns": True})
    nowpayments.payer.delay = 0
    before = recovered(runtime)
    async with watching(runtime, bus_prefix) as spy:
        order_id = await new_order(client)
        payment = pay(nowpayments, order_id)
        await nowpayments.idle()
        assert [i.delivery for i in payment.ipns] == [None] * 4  # every IPN dropped

        async def paid() -> bool:
            return await status_of(runtime, order_id) == "paid"

        assert await eventually(paid, timeout=15)
        messages = await spy.collect(expected=1, timeout=5)
    finished = [json.loads(m.body) for m in messages if m.routing_key == "payment.finished"]
    assert [(f["order_id"], f["payment_id"]) for f in finished] == [
        (order_id, str(payment.payment_id))
    ]
    assert await polled(runtime, order_id) == [("finished", "paid")]
    assert recovered(runtime) == before + 1
    listed = await admin.get("/internal/ipns", params={"source": "poll", "order_id": order_id})
    assert [(i["source"], i["result"]) for i in listed.json()["items"]] == [("poll", "paid")]

    async def stopped() -> bool:
        return await reconcile_at(runtime, order_id) is None

    assert await eventually(stopped, timeout=10), "a settled order is still being asked about"


async def test_a_known_payment_whose_last_ipns_are_lost_is_asked_about_by_id(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    nowpayments: NowPaymentsSandbox,
    admin: httpx.AsyncClient,
) -> None:
    order_id = await new_order(client)
    [invoice] = [i for i in nowpayments.store.invoices.values() if i.order_id == order_id]
    payment = nowpayments.store.create_payment(invoice, "usdttrc20")  # waiting; no IPN yet
    waiting = ipn(order_id, "waiting", payment_id=payment.payment_id)
    assert (await send(client, waiting)).status_code == 200
    await settled(runtime)
    nowpayments.faults.update({"drop_all_ipns": True})
    nowpayments.set_status(payment, "finished", payment.pay_amount * 2)
    await nowpayments.idle()

    async def paid() -> bool:
        return await status_of(runtime, order_id) == "paid"

    assert await eventually(paid, timeout=15)
    assert ("finished", "paid") in await polled(runtime, order_id)
    flags = await admin.get("/internal/flags", params={"order_id": order_id})
    assert [f["kind"] for f in flags.json()["items"]] == ["overpaid"]


async def test_money_arriving_late_and_unannounced_is_flagged_not_lost(
    client: httpx.AsyncClient, runtime: ServiceRuntime, nowpayments: NowPaymentsSandbox
) -> None:
    order_id = await new_order(client)
    nowpayments.faults.update({"drop_all_ipns": True})
    payment = pay(nowpayments, order_id, "expired")
    await nowpayments.idle()

    async def failed() -> bool:
        return await status_of(runtime, order_id) == "failed"

    assert await eventually(failed, timeout=15)
    nowpayments.set_status(payment, "finished", None)

    async def late() -> bool:
        return ("finished", "late_payment") in await polled(runtime, order_id)

    assert await eventually(late, timeout=15)
    assert (await order_row(runtime, order_id))["status"] == "failed"


async def test_an_invoice_never_paid_expires_after_its_lifetime_and_grace(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    order_id = await new_order(client)
    # As if the invoice were eight days old: its lifetime (7 d) and grace (1 d) are past.
    await execute(
        runtime,
        update(orders)
        .where(orders.c.order_id == order_id)
        .values(invoiced_at=func.now() - timedelta(days=8, minutes=1), reconcile_at=func.now()),
    )

    async def expired() -> bool:
        row = await order_row(runtime, order_id)
        return bool(row["status"] == "expired" and row["reconcile_at"] is None)

    assert await eventually(expired, timeout=10)


async def test_nowpayments_down_delays_reconciliation_but_never_ends_it(
    client: httpx.AsyncClient, runtime: ServiceRuntime, nowpayments: NowPaymentsSandbox
) -> None:
    nowpayments.faults.update({"drop_all_ipns": True})
    nowpayments.payer.delay = 0
    order_id = await new_order(client)
    pay(nowpayments, order_id)
    nowpayments.faults.update({"fail_next": 12})

    async def paid() -> bool:
        return await status_of(runtime, order_id) == "paid"

    assert await eventually(paid, timeout=20)
    assert nowpayments.faults.fail_next == 0
    failures = runtime.metrics.source.get_sample_value(
        "bitloot_payments_reconcile_polls_total", {"outcome": "failed"}
    )
    assert failures is not None
    assert failures >= 1


async def test_two_reconcilers_never_ask_about_one_order_at_once(
    client: httpx.AsyncClient,
    runtime: ServiceRuntime,
    nowpayments: NowPaymentsSandbox,
    settings: Settings,
    nowpayments_app: Starlette,
) -> None:
    """Two more reconcilers (as on other instances) beside the service's own: each order
    is claimed by one, so each payment's news is stored once."""
    nowpayments.faults.update({"drop_all_ipns": True})
    nowpayments.payer.delay = 0
    await execute(runtime, update(orders).values(reconcile_at=None))
    order_ids = [await new_order(client) for _ in range(8)]
    for order_id in order_ids:
        pay(nowpayments, order_id)
    await nowpayments.idle()
    sandbox_http = httpx.AsyncClient(transport=httpx.ASGITransport(app=nowpayments_app))
    others = [
        Reconciler(
            runtime.units_of_work(PaymentsUnitOfWork),
            NowPaymentsClient(
                "https://api.nowpayments.test",
                settings.nowpayments_api_key.get_secret_value(),
                sandbox_http,
                retry=RetryPolicy(attempts=2, base_delay=0.01),
                credentials=(LOGIN.email, LOGIN.password),
            ),
            ReconcilePolicy(after=timedelta(seconds=0.3)),
            lambda: None,
            PaymentsMetrics(CollectorRegistry()),
            interval=0.01,
        )
        for _ in range(2)
    ]
    running = [asyncio.create_task(other.worker.run()) for other in others]
    try:

        async def all_paid() -> bool:
            paid = await scalar(runtime, select(func.count()).where(orders.c.status == "paid"))
            return bool(paid == len(order_ids))

        assert await eventually(all_paid, timeout=20)
    finally:
        for task in running:
            task.cancel()
        await sandbox_http.aclose()
    for order_id in order_ids:
        assert await polled(runtime, order_id) == [("finished", "paid")]
