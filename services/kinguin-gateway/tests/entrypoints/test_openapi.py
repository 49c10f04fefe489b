"""``GET /openapi.json`` describes every gateway route, and names the webhook secret
header the gateway is configured with."""

from kinguin_gateway_support import gateway_settings

from bitloot_kinguin_gateway.bootstrap import build
from bitloot_runtime.openapi import problems, served
from bitloot_runtime.sealing import generate_key_pair
from bitloot_testing.rabbitmq import BusNamespace


async def test_every_route_is_described_with_the_configured_webhook_auth(
    database_url: str, bus_prefix: BusNamespace
) -> None:
    settings = gateway_settings(
        database_url,
        bus_prefix,
        "http://kinguin.invalid",
        generate_key_pair()[1],
        webhook_secret_header="X-Shop-Secret",
    )
    _runtime, app = build(settings)
    document = await served(app)
    assert problems(document, app.routes) == []
    schemes = document["components"]["securitySchemes"]
    assert schemes["kinguinSecret"] == {"type": "apiKey", "in": "header", "name": "X-Shop-Secret"}
    webhook = document["paths"]["/kinguin/webhooks"]["post"]
    assert webhook["security"] == [{"kinguinSecret": []}, {"kinguinSignature": []}]
    assert set(document["components"]["schemas"]["OrderStatusBody"]["required"]) == {
        "orderId",
        "status",
        "updatedAt",
    }
