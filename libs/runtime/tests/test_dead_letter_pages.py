"""Every parked message can be listed, page after page: an operator (or a check) that
reads only the first page must be able to go on to the rest."""

from runtime_support import metadata as widgets_metadata
from sqlalchemy.ext.asyncio import async_sessionmaker
from starlette.applications import Starlette

from bitloot_runtime.db import create_engine, migrate
from bitloot_runtime.dead_letters import DeadLetterStore
from bitloot_runtime.delivery import Delivery
from bitloot_runtime.http import EXCEPTION_HANDLERS
from bitloot_runtime.internal import DEAD_LETTER_ROUTES, ParkedMessages
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


async def test_the_listing_pages_through_every_letter_with_its_cursor(database_url: str) -> None:
    await migrate(database_url, widgets_metadata, [])
    engine = create_engine(database_url, max_connections=2)
    store = DeadLetterStore(async_sessionmaker(engine))
    try:
        for number in range(7):
            await store.park(parked_message(number), reason="retries_exhausted", error="boom")
        # The publisher is used only by replays, which this test does not make.
        app = Starlette(routes=DEAD_LETTER_ROUTES, exception_handlers=EXCEPTION_HANDLERS)
        app.state.parked_messages = ParkedMessages(store, None)  # type: ignore[arg-type]
        async with asgi_client(app) as http:
            seen: list[str] = []
            pages = 0
            cursor: str | None = None
            for _page in range(5):  # a listing that ignored its cursor would never end
                pages += 1
                params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
                page = (await http.get("/internal/dead-letters", params=params)).json()
                seen += [item["message_id"] for item in page["items"]]
                if (cursor := page["next"]) is None:
                    break
            bad = await http.get("/internal/dead-letters", params={"cursor": "x"})
            flag = await http.get("/internal/dead-letters", params={"include_replayed": "yes"})
    finally:
        await engine.dispose()

    assert seen == [f"message-{number}" for number in reversed(range(7))]
    assert pages == 3  # 3 + 3 + 1: the short page is the last, with no next
    assert (bad.status_code, bad.json()["error"]) == (422, "invalid_cursor")
    assert (flag.status_code, flag.json()["error"]) == (422, "invalid_include_replayed")
