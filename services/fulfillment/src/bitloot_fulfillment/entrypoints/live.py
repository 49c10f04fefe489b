"""``WS /ws/orders/{order_id}``: an order's status, live, for its customer or an admin.

Each status frame carries the saga's `status` and, in the words the customer's order
page uses too (`bitloot_contracts.customer`), its `customer_status`.

The token comes as ``?token=`` (browsers cannot set headers on a WebSocket) or as
``Authorization: Bearer``. The socket is accepted first so that a refusal can say why
with a close code: 4401 without a valid token, 4403 with a valid token for another
order. An accepted socket gets the current status at once, each change as it happens
(from this instance's live queue, see `adapters.live`), and a heartbeat whenever it has
been quiet for the configured interval.
"""

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any, TypeGuard, get_args
from uuid import UUID

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from bitloot_contracts.customer import customer_status_of_saga
from bitloot_contracts.events import OrderState, OrderStatusChanged
from bitloot_fulfillment.adapters import views
from bitloot_fulfillment.adapters.live import StatusHub
from bitloot_runtime.logging import log_context
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.tokens import AdminTokenVerifier, InvalidToken, OrderTokenVerifier

logger = logging.getLogger(__name__)

UNAUTHORIZED = 4401
FORBIDDEN = 4403


@dataclass(frozen=True)
class Viewers:
    """Who may watch an order: its own order token, or any admin session token."""

    orders: OrderTokenVerifier
    admins: AdminTokenVerifier | None

    def check(self, token: str | None, order_id: UUID) -> str:
        """Who is watching (``customer`` or ``admin:<name>``); `InvalidToken` otherwise."""
        try:
            self.orders.verify(token, order_id)
        except InvalidToken as refusal:
            if refusal.code in ("token_missing", "token_wrong_order") or self.admins is None:
                raise
            return f"admin:{self.admins.verify(token)}"
        return "customer"


def _token(websocket: WebSocket) -> str | None:
    if token := websocket.query_params.get("token"):
        return token
    scheme, _, bearer = websocket.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return bearer.strip() or None


def _customer_status(state: str | None) -> str | None:
    """The customer's words for a saga state (the order page of payments uses the same)."""
    return customer_status_of_saga(state) if _is_state(state) else None


def _is_state(value: object) -> TypeGuard[OrderState]:
    return value in get_args(OrderState)


def _status_message(change: OrderStatusChanged) -> dict[str, Any]:
    return {
        "type": "status",
        "order_id": str(change.order_id),
        "status": change.status,
        "customer_status": _customer_status(change.status),
        "previous_status": change.previous_status,
        "reason": change.reason,
        "at": change.occurred_at.isoformat(),
    }


def live_routes(
    runtime: ServiceRuntime, hub: StatusHub, viewers: Viewers, heartbeat: float
) -> list[WebSocketRoute]:
    async def order_status(websocket: WebSocket) -> None:
        await websocket.accept()
        try:
            order_id = UUID(websocket.path_params["order_id"])
            viewer = viewers.check(_token(websocket), order_id)
        except (ValueError, InvalidToken) as refusal:
            code = getattr(refusal, "code", "invalid_order_id")
            logger.warning(
                "live status refused",
                extra={"reason": code, "order_id": websocket.path_params["order_id"]},
            )
            close = FORBIDDEN if code == "token_wrong_order" else UNAUTHORIZED
            await websocket.close(close, reason=code)
            return
        with log_context(order_id=str(order_id)):
            logger.info("live status opened", extra={"viewer": viewer})
            with contextlib.suppress(WebSocketDisconnect):
                await _stream(runtime, hub, websocket, order_id, heartbeat)

    return [WebSocketRoute("/ws/orders/{order_id}", order_status)]


async def _stream(
    runtime: ServiceRuntime, hub: StatusHub, websocket: WebSocket, order_id: UUID, beat: float
) -> None:
    # Listen before reading the current state, so that no change falls in between.
    with hub.listen(order_id) as changes:
        async with runtime.sessionmaker() as session:
            current = await views.current_status(session, order_id)
        state, at = current or (None, None)
        await websocket.send_json(
            {
                "type": "status",
                "order_id": str(order_id),
                "status": state,
                "customer_status": _customer_status(state),
                "at": at,
            }
        )
        closed = asyncio.create_task(_until_closed(websocket))
        try:
            while not closed.done():
                waiting = asyncio.create_task(changes.get())
                done, _ = await asyncio.wait(
                    {waiting, closed}, timeout=beat, return_when=asyncio.FIRST_COMPLETED
                )
                if waiting in done:
                    await websocket.send_json(_status_message(waiting.result()))
                    continue
                waiting.cancel()
                if not done:
                    await websocket.send_json({"type": "heartbeat"})
        finally:
            closed.cancel()


async def _until_closed(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, until it goes away."""
    while (await websocket.receive())["type"] != "websocket.disconnect":
        pass
