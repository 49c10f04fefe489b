"""``GET /openapi.json`` describes every fulfillment route, the live-status socket too."""

from starlette.applications import Starlette

from bitloot_runtime.openapi import problems, served
from bitloot_runtime.service import ServiceRuntime


async def test_every_route_and_the_socket_are_described(
    fulfillment_app: tuple[ServiceRuntime, Starlette],
) -> None:
    app = fulfillment_app[1]
    document = await served(app)
    assert problems(document, app.routes) == []
    socket = document["x-websockets"]["/ws/orders/{order_id}"]
    assert set(socket["close_codes"]) == {"4401", "4403"}
