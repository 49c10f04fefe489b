"""Helpers of the live-status tests: tokens for a socket, and a real WebSocket client
reading its status frames."""

import asyncio
import json
from datetime import timedelta
from typing import Any
from uuid import UUID

from websockets.asyncio.client import ClientConnection, connect

from bitloot_runtime.tokens import (
    AdminTokenSigner,
    OrderTokenSigner,
    generate_key_pair,
    load_private_key,
)

ORDER_KEY, ORDER_PUBLIC = generate_key_pair()
ADMIN_KEY, ADMIN_PUBLIC = generate_key_pair()
KEYS = {
    "order_token_public_keys": f"o1:{ORDER_PUBLIC}",
    "admin_token_public_keys": f"a1:{ADMIN_PUBLIC}",
}
HOUR = timedelta(hours=1)


def order_token(order_id: UUID) -> str:
    return OrderTokenSigner("o1", load_private_key(ORDER_KEY), HOUR).issue(order_id)


def admin_token() -> str:
    return AdminTokenSigner("a1", load_private_key(ADMIN_KEY), HOUR).issue("alice")


def watch(base: str, order_id: UUID, token: str | None = None, **headers: str) -> connect:
    query = f"?token={token}" if token else ""
    return connect(f"{base}/ws/orders/{order_id}{query}", additional_headers=headers, proxy=None)


async def next_status(socket: ClientConnection) -> dict[str, Any]:
    """The next status message, skipping heartbeats (a generous bound, so that a change
    that never comes fails the test instead of hanging it)."""
    async with asyncio.timeout(20):
        while True:
            message: dict[str, Any] = json.loads(await socket.recv())
            if message["type"] == "status":
                return message


async def statuses(socket: ClientConnection, count: int) -> list[str | None]:
    return [(await next_status(socket))["status"] for _ in range(count)]
