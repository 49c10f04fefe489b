"""The internal API the admin service reads: a reservation and an order's timeline."""

from datetime import UTC, datetime
from decimal import Decimal
from uuid import uuid4

from kinguin_gateway_support import WEBHOOK_SECRET, Gateway, StandInKinguin, published

from bitloot_contracts.events import ReservationLine, ReservationRequested

TOKEN = {"Authorization": "Bearer gateway-test-internal-token"}


async def test_a_reservation_and_its_timeline_are_shown_to_the_internal_token_only(
    gateway: Gateway, kinguin: StandInKinguin
) -> None:
    order_id = uuid4()
    line = ReservationLine(kinguin_product_id="prod-a", qty=1, max_unit_price=Decimal("3"))
    async with gateway.spy() as spy:
        await gateway.publish(ReservationRequested(order_id=order_id, lines=(line,)))
        await published(spy, "reservation.created", 1)
    [order] = kinguin.orders.values()
    webhook = {
        "orderId": order.order_id,
        "orderExternalId": str(order_id),
        "status": "completed",
        "updatedAt": datetime.now(UTC).isoformat(),
    }
    await gateway.http.post(
        "/kinguin/webhooks",
        json=webhook,
        headers={"X-Event-Name": "order.status", "X-Event-Secret": WEBHOOK_SECRET},
    )

    refused = await gateway.http.get(f"/internal/reservations/{order_id}")
    reservation = await gateway.http.get(f"/internal/reservations/{order_id}", headers=TOKEN)
    unknown = await gateway.http.get(f"/internal/reservations/{uuid4()}", headers=TOKEN)
    timeline = await gateway.http.get(f"/internal/orders/{order_id}/timeline", headers=TOKEN)
    empty = await gateway.http.get(f"/internal/orders/{uuid4()}/timeline", headers=TOKEN)

    assert refused.status_code == 401
    assert reservation.json()["state"] == "placed"
    assert reservation.json()["kinguin_order_id"] == order.order_id
    assert reservation.json()["kinguin_status"] == "completed"
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "reservation_not_found"
    kinds = [item["kind"] for item in timeline.json()["items"]]
    assert kinds == ["reservation_placing", "reservation_placed", "webhook_received"]
    assert timeline.json()["items"][2]["data"]["applied"] is True
    assert empty.json() == {"order_id": empty.json()["order_id"], "items": []}
