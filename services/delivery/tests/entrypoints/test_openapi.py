"""``GET /openapi.json`` describes every delivery route; the reveal page answers HTML."""

from delivery_support import Running

from bitloot_runtime.openapi import problems, served


async def test_every_route_is_described_and_the_reveal_page_as_html(delivery: Running) -> None:
    document = await served(delivery.app)
    assert problems(document, delivery.app.routes) == []
    reveal = document["paths"]["/keys/{token}"]["get"]
    assert set(reveal["responses"]["200"]["content"]) == {"text/html"}
    assert document["paths"]["/orders/{order_id}/link"]["post"]["security"] == [{"orderToken": []}]
