"""Every parked message can be listed, page after page: an operator (or a check) that
reads only the first page must be able to go on to the rest."""

from runtime_support import metadata as widgets_metadata
from sqlalchemy.ext.asyncio import async_sessionmaker
from starlette.applications import Starlette

from bitloot_runtime.db import create_engine, migrate
from bitloot_runtime.dead_letters import DeadLetterStore
from bitloot_runtime.delivery import Delivery
from bitloot_runtime.http import EXCEPTION_HANDLERS
from bitloot_runtime.internal import dead_letter_routes
from bitloot_testing.asgi import asgi_client


def parked_message(number: int) -> Delivery:
    return Delivery(
        queue="widgets.orders",
        topic="order.placed",
        body=b"{}",
        message_id=f"message-{number}",
        order_id=None,
        headers={},
        attempt=3,
        first_failed_at=None,
    )


async def test_the_listing_pages_through_every_letter_with_before(database_url: str) -> None:
    await migrate(database_url, widgets_metadata, [])
    engine = create_engine(database_url, max_connections=2)
    store = DeadLetterStore(async_sessionmaker(engine))
    try:
        for number in range(7):
            await store.park(parked_message(number), reason="retries_exhausted", error="boom")
        # The publisher is used only by replays, which this test does not make.
        routes = dead_letter_routes(store, None)  # type: ignore[arg-type]
        app = Starlette(routes=routes, exception_handlers=EXCEPTION_HANDLERS)
        async with asgi_client(app) as http:
            seen: list[str] = []
            before: int | None = None
            for _page in range(5):  # a listing that ignored `before` would never end
                params = {"limit": 3} | ({"before": before} if before else {})
                items = (await http.get("/internal/dead-letters", params=params)).json()["items"]
                if not items:
                    break
                seen += [item["message_id"] for item in items]
                before = items[-1]["id"]
            bad = await http.get("/internal/dead-letters", params={"before": "x"})
    finally:
        await engine.dispose()

    assert seen == [f"message-{number}" for number in reversed(range(7))]
    assert (bad.status_code, bad.json()["error"]) == (422, "invalid_before")
