"""``WS /ws/orders/{order_id}``: an order's status, live, for its customer or an admin.

Each status frame carries the saga's `status` (null before the order is paid) and, in
the words the customer's order page uses too
(`bitloot_contracts.customer.customer_status_of_order`), its `customer_status`, which the
order's refund and key email decide as much as the saga; it is never null: an order
fulfillment has not heard of is `awaiting_payment` (the first frame the customer's order
page gets before payment).
Frames also carry the `refund` (status, amount, currency, transaction id; null without
one), `email_confirmed` (null until delivery reported on the key email) and `delay`
(`is_preorder` and `release_date`: the order is a preorder, or Kinguin is late with it
and the customer was told so; null otherwise), which says why a `delivering` order
takes long: `order.delayed` is a status frame too. A refund
moving, or the key email turning out unconfirmed or confirmed, is a status frame too,
with the saga's `status` unchanged. Fields are only ever added to frames.

A socket hears the saga through `order.status_changed`, which the saga publishes only
when the customer status changes or the order ends (`domain.saga.announced`): a frame
for each change the customer would see, not for each step (reserved, keys_requested and
delivering after reserving say "delivering" again). So a frame's `status` is the saga's
state as last announced (the first frame's is the stored one), and `previous_status`
is the saga's true previous state, which a socket may not have been sent.

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
from dataclasses import replace
from typing import Final
from uuid import UUID

from pydantic import JsonValue
from starlette.websockets import WebSocket, WebSocketDisconnect

from bitloot_contracts.customer import CustomerStatus
from bitloot_contracts.events import (
    DeliveryCompleted,
    OrderDelayed,
    OrderStatusChanged,
    RefundStatusChanged,
)
from bitloot_fulfillment.adapters import views
from bitloot_fulfillment.adapters.live import (
    DelayView,
    LiveEvent,
    LiveView,
    RefundView,
    StatusHub,
)
from bitloot_fulfillment.entrypoints.edge import Edge
from bitloot_runtime.app import dependencies
from bitloot_runtime.logging import log_context
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.tokens import InvalidToken

logger = logging.getLogger(__name__)

UNAUTHORIZED = 4401
FORBIDDEN = 4403
NOT_PAID: Final[CustomerStatus] = "awaiting_payment"


def _token(websocket: WebSocket) -> str | None:
    if token := websocket.query_params.get("token"):
        return token
    scheme, _, bearer = websocket.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return bearer.strip() or None


def _status_message(order_id: UUID, view: LiveView, **saga: JsonValue) -> dict[str, JsonValue]:
    facts = view.frame_facts()
    # No saga and no refund: fulfillment has not heard of a payment for the order. Its
    # customer, holding the token payments issued when it was placed, is awaiting it.
    facts["customer_status"] = facts["customer_status"] or NOT_PAID
    return {"type": "status", "order_id": str(order_id), "status": view.state, **facts, **saga}


async def _frame_of(
    runtime: ServiceRuntime, view: LiveView, event: LiveEvent
) -> tuple[LiveView, dict[str, JsonValue] | None]:
    """The socket's view after `event`, and the frame to send for it (None: nothing
    the customer would see changed, such as a duplicate or an overtaken refund report)."""
    if isinstance(event, OrderStatusChanged):
        # The saga stored what its change implies (an unconfirmed email) before it
        # published the change; read it rather than hope its event came first.
        async with runtime.sessionmaker() as session:
            stored, _ = await views.live_view(session, event.order_id)
        delay = stored.delay or view.delay
        view = LiveView(event.status, view.refund, view.email_sent, delay)
        view = view.with_facts(stored.refund, stored.email_sent)
        saga = {
            "previous_status": event.previous_status,
            "reason": event.reason,
            "at": event.occurred_at.isoformat(),
        }
        return view, _status_message(event.order_id, view, **saga)
    if isinstance(event, RefundStatusChanged):
        after = view.with_facts(RefundView.of(event), view.email_sent)
        reason = f"refund {event.status}"
    elif isinstance(event, OrderDelayed):
        after = replace(view, delay=DelayView(event.is_preorder, event.release_date))
        reason = "delayed"
    else:
        after = view.with_facts(view.refund, event.email_sent)
        reason = "key email confirmed" if after.email_sent else "key email not confirmed"
    if after == view or (isinstance(event, DeliveryCompleted) and view.state != "fulfilled"):
        return after, None
    saga = {"previous_status": view.state, "reason": reason, "at": event.occurred_at.isoformat()}
    return after, _status_message(event.order_id, after, **saga)


async def order_status(websocket: WebSocket) -> None:
    """``WS /ws/orders/{order_id}`` (see the module's docstring)."""
    edge = dependencies(websocket, Edge)
    await websocket.accept()
    try:
        order_id = UUID(websocket.path_params["order_id"])
        viewer = edge.viewers.check(_token(websocket), order_id)
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
            await _stream(edge.runtime, edge.hub, websocket, order_id, edge.heartbeat)


async def _stream(
    runtime: ServiceRuntime, hub: StatusHub, websocket: WebSocket, order_id: UUID, beat: float
) -> None:
    # Listen (the live queue bound) before reading the stored state, so that no change
    # falls in between.
    async with hub.listen(order_id) as changes:
        async with runtime.sessionmaker() as session:
            view, at = await views.live_view(session, order_id)
        await websocket.send_json(_status_message(order_id, view, at=at))
        closed = asyncio.create_task(_until_closed(websocket))
        try:
            while not closed.done():
                waiting = asyncio.create_task(changes.get())
                done, _ = await asyncio.wait(
                    {waiting, closed}, timeout=beat, return_when=asyncio.FIRST_COMPLETED
                )
                if waiting in done:
                    view, frame = await _frame_of(runtime, view, waiting.result())
                    if frame is not None:
                        await websocket.send_json(frame)
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
