"""Helpers shared by the refund tests: a paid order, the bus events that make a refund
due, claim tokens as delivery signs them, and what payments stored and emitted."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
from payments_support import execute, fetch, ipn, new_order, send, settled
from sqlalchemy import select, update

from bitloot_contracts.events import OrderFailed, OrderStatusChanged
from bitloot_payments.adapters.orm import orders, refunds
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.tables import outbox
from bitloot_runtime.tokens import ClaimTokenSigner, generate_key_pair, load_private_key
from bitloot_testing.bus import eventually

# What `payments_support.ipn` pays: 25.1 usdttrc20 for an order of 25 usd.
PAID, PAID_IN = "25.1", "usdttrc20"
TRON_ADDRESS = "TNDFkiSmBQorNFacb3735q8MnT29sn8BLn"
# Delivery's claim-link key pair: the service under test gets the public half.
CLAIM_KEYS = generate_key_pair()


async def paid_order(client: httpx.AsyncClient, runtime: ServiceRuntime) -> str:
    """A new order, paid in full by a payment of its own."""
    order_id = await new_order(client)
    await send(client, ipn(order_id, "finished", payment_id=UUID(order_id).int % 10**12))
    await settled(runtime)
    return order_id


def failed(order_id: str, at: datetime | None = None) -> OrderFailed:
    return OrderFailed(
        order_id=UUID(order_id),
        stage="reserving",
        reason="Kinguin is out of stock.",
        occurred_at=at or datetime.now(UTC),
    )


def saga(order_id: str, status: str, at: datetime) -> OrderStatusChanged:
    return OrderStatusChanged.model_validate(
        {"order_id": order_id, "status": status, "occurred_at": at}
    )


async def rows(runtime: ServiceRuntime, table: Any, order_id: str) -> list[dict[str, Any]]:
    query = select(table).where(table.c.order_id == UUID(order_id))
    return await fetch(runtime, query.order_by(table.c[_key(table)]))


def _key(table: Any) -> str:
    return "id" if "id" in table.c else "order_id"


async def set_refund(runtime: ServiceRuntime, refund_id: int, **values: object) -> None:
    """The refund's row changed behind the service's back."""
    await execute(runtime, update(refunds).where(refunds.c.id == refund_id).values(**values))


async def refund_rows(runtime: ServiceRuntime, order_id: str) -> list[dict[str, Any]]:
    return await rows(runtime, refunds, order_id)


async def order_status(runtime: ServiceRuntime, order_id: str) -> str:
    return str((await rows(runtime, orders, order_id))[0]["status"])


async def fulfilment_state(runtime: ServiceRuntime, order_id: str) -> str | None:
    found = (await rows(runtime, orders, order_id))[0]["fulfilment_state"]
    return str(found) if found is not None else None


async def emitted(runtime: ServiceRuntime, order_id: str, topic: str) -> list[dict[str, Any]]:
    """The bodies of the events of `topic` the order's changes queued, oldest first."""
    found = [row for row in await rows(runtime, outbox, order_id) if row["topic"] == topic]
    return [json.loads(row["body"]) for row in found]


async def refund_of(runtime: ServiceRuntime, order_id: str) -> dict[str, Any]:
    """The order's refund, once the bus has made it due."""

    async def recorded() -> bool:
        return bool(await refund_rows(runtime, order_id))

    assert await eventually(recorded, timeout=15), "no refund recorded"
    return (await refund_rows(runtime, order_id))[0]


async def made_due(runtime: ServiceRuntime, client: httpx.AsyncClient) -> tuple[str, int]:
    """A paid order whose saga failed: (order id, refund id)."""
    order_id = await paid_order(client, runtime)
    await runtime.publisher.publish(failed(order_id))
    return order_id, int((await refund_of(runtime, order_id))["id"])


def claim_token(
    refund_id: int,
    order_id: str,
    *,
    ttl: timedelta = timedelta(days=7),
    issued: datetime | None = None,
) -> str:
    """A claim link's token as delivery signs it (key id c1)."""
    signer = ClaimTokenSigner("c1", load_private_key(CLAIM_KEYS[0]), ttl)
    return signer.issue(refund_id, UUID(order_id), issued)
