"""``GET /openapi.json`` describes every payments route, guarded as served, with the
request bodies the handlers validate."""

from bitloot_contracts.order_filters import ORDER_FILTERS
from bitloot_payments.bootstrap import build
from bitloot_payments.settings import Settings
from bitloot_runtime.openapi import problems, served


async def test_every_route_is_described_guarded_and_answers_errors_in_one_shape(
    settings: Settings,
) -> None:
    _runtime, app = build(settings)
    document = await served(app)
    assert problems(document, app.routes) == []
    checkout = document["paths"]["/orders"]["post"]
    assert checkout["security"] == []
    assert checkout["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/OrderBody"
    }
    assert document["paths"]["/payments/ipn"]["post"]["security"] == [{"nowpaymentsSignature": []}]
    schemes = document["components"]["securitySchemes"]
    assert schemes["nowpaymentsSignature"]["name"] == "x-nowpayments-sig"
    # The order is a page for a browser and JSON for the rest, refusals included.
    shown = document["paths"]["/orders/{order_id}"]["get"]["responses"]
    for status in ("200", "401", "403", "404"):
        assert set(shown[status]["content"]) == {"text/html", "application/json"}, status
    assert (
        "text/javascript"
        in document["paths"]["/orders/live.js"]["get"]["responses"]["200"]["content"]
    )


async def test_the_order_list_filters_are_described_with_their_known_values(
    settings: Settings,
) -> None:
    _runtime, app = build(settings)
    document = await served(app)
    parameters = document["paths"]["/internal/orders"]["get"]["parameters"]
    enums = {p["name"]: p["schema"].get("enum") for p in parameters if "enum" in p["schema"]}
    assert enums == {name: list(known) for name, known in ORDER_FILTERS.items()}
