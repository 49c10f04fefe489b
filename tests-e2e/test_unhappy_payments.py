"""The unhappy paths of money through five service processes, both sandboxes, real
RabbitMQ and PostgreSQL: an order whose every IPN is lost, one whose IPN meets a
database fault, and a late payment an admin accepts. Each ends with its key bought once
and emailed once."""

from typing import Any

import asyncpg
import httpx
import pytest
from five_processes import SHORT_SETTINGS, Servers, wait_for
from shop import Shop

from bitloot_runtime.db import asyncpg_dsn

SETTINGS = {
    **SHORT_SETTINGS,
    "RECONCILE_AFTER_SECONDS": "2",
    "RECONCILE_INTERVAL": "0.5",
    "RECONCILE_MAX_INTERVAL_SECONDS": "2",
    "IPN_RETRY_DELAY": "0.2",
    "IPN_RETRY_MAX_DELAY": "1",
}
PRODUCT = {
    "title": "Hades (Steam)",
    "kinguin_product_id": "5c9b5f6b2539a4e8f172916a",
    "price": "24.99",
    "currency": "usd",
    "max_purchase_price": "20.00",
    "active": True,
}


async def lost_ipns(shop: Shop) -> str:
    """Every IPN of the order is dropped; reconciliation finds the payment."""
    await shop.nowpayments("POST", "/sandbox/faults", {"drop_all_ipns": True})
    order_id = await shop.place("lost@example.com")
    await shop.fulfilled(order_id, "the order whose IPNs were all lost being fulfilled")
    await shop.nowpayments("POST", "/sandbox/faults", {"drop_all_ipns": False})
    sources = {(ipn["source"], ipn["result"]) for ipn in await shop.ipns(order_id)}
    assert ("poll", "paid") in sources, sources
    assert all(source == "poll" for source, _ in sources)
    return order_id


async def database_fault(shop: Shop) -> str:
    """The order's row is held by another transaction while its IPN is applied, and the
    processor's waiting statement is cancelled again and again."""
    order_id = await shop.place("fault@example.com")
    locker = await asyncpg.connect(asyncpg_dsn(shop.running.databases["payments"]))
    try:
        transaction = locker.transaction()
        await transaction.start()
        await locker.execute("SELECT 1 FROM orders WHERE order_id = $1 FOR UPDATE", order_id)
        invoice = await shop.invoice_of(order_id)
        await shop.nowpayments("POST", f"/sandbox/invoices/{invoice['id']}/pay", {})
        for _ in range(4):

            async def blocked() -> bool:
                return bool(await locker.fetchval(_BLOCKED))

            await wait_for(blocked, "the IPN processor waiting for the order's row", 30)
            await locker.fetchval(f"SELECT pg_cancel_backend(({_BLOCKED}))")
            await wait_for(lambda: _retried(shop, order_id), "a retry being recorded", 30)
        assert await shop.saga_state(order_id) is None, "paid while the row was held"
        await transaction.rollback()
    finally:
        await locker.close()
    await shop.fulfilled(order_id, "the order whose IPN met a database fault being fulfilled")
    return order_id


_BLOCKED = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
    " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid() LIMIT 1"
)


async def _retried(shop: Shop, order_id: str) -> bool:
    return any(ipn["retries"] > 0 for ipn in await shop.ipns(order_id))


async def late_payment_accepted(shop: Shop) -> str:
    """The payment expires, then its money arrives: flagged, and an admin accepts it."""
    order_id = await shop.place("late@example.com")
    invoice = await shop.invoice_of(order_id)
    payment = await shop.nowpayments(
        "POST", f"/sandbox/invoices/{invoice['id']}/pay", {"outcome": "expired"}
    )

    async def expired() -> bool:
        return any(
            ipn["status"] == "expired" and ipn["processed_at"] for ipn in await shop.ipns(order_id)
        )

    await wait_for(expired, "the expiry being applied")
    await shop.nowpayments(
        "POST", f"/sandbox/payments/{payment['payment_id']}/status", {"status": "finished"}
    )
    admin = shop.url["admin"]
    session = await shop.admin_session()
    flag: dict[str, Any] = {}

    async def flagged() -> bool:
        answer = await shop.http.get(
            f"{admin}/admin/api/flags",
            params={"order_id": order_id, "status": "open"},
            headers=session,
        )
        items = answer.json()["items"]
        flag.update(items[0] if items else {})
        return bool(items)

    await wait_for(flagged, "the late payment being flagged")
    assert flag["kind"] == "late_payment"
    assert await shop.saga_state(order_id) is None, "a late payment was fulfilled unasked"
    # The flag's page offers every decision payments leaves open, each as a form.
    page = await shop.http.get(f"{admin}/admin/flags/{flag['id']}", headers=session)
    for decision in ("accept", "refund-due", "dismiss"):
        assert f'action="/admin/flags/{flag["id"]}/{decision}"' in page.text, decision
    accepted = await shop.http.post(
        f"{admin}/admin/api/flags/{flag['id']}/accept",
        json={"note": "the customer's funds arrived an hour late"},
        headers=session,
    )
    assert accepted.status_code == 200, accepted.text
    again = await shop.http.post(f"{admin}/admin/api/flags/{flag['id']}/accept", headers=session)
    assert again.status_code == 409
    await shop.fulfilled(order_id, "the accepted late payment being fulfilled")
    audit = (await shop.http.get(f"{admin}/admin/api/audit", headers=session)).json()["items"]
    assert any(entry["target"].endswith(str(flag["id"])) for entry in audit)
    return order_id


@pytest.mark.slow
async def test_lost_ipns_a_database_fault_and_a_late_payment_each_end_with_one_key_email(
    servers: Servers,
) -> None:
    async with (
        servers.start(SETTINGS) as running,
        httpx.AsyncClient(timeout=15) as http,
    ):
        shop = Shop(running, http, servers.smtp_inbox)
        seeded = await http.put(
            f"{running.url['payments']}/internal/products/hades",
            json=PRODUCT,
            headers=running.internal,
        )
        assert seeded.status_code == 200, seeded.text
        lost = await lost_ipns(shop)
        await shop.nowpayments("POST", "/sandbox/config", {"auto_pay": False})
        fault = await database_fault(shop)
        late = await late_payment_accepted(shop)
        for order_id, address in (
            (lost, "lost@example.com"),
            (fault, "fault@example.com"),
            (late, "late@example.com"),
        ):

            async def emailed(address: str = address) -> bool:
                return shop.emails_to(address) >= 1

            await wait_for(emailed, f"the key email to {address}")
            assert shop.emails_to(address) == 1, address
            assert await shop.kinguin_orders(order_id) == 1, order_id
