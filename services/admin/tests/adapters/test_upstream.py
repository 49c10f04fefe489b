"""The client of the other services, against the stand-ins over real HTTP."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from admin_support import INTERNAL_TOKEN, StandIns

from bitloot_admin.adapters.upstream import NotFound, Reply, Unavailable, UpstreamClient
from bitloot_admin.domain.views import OrderPage, Timeline
from bitloot_testing.net import free_port


@asynccontextmanager
async def client_of(
    urls: dict[str, str], token: str = INTERNAL_TOKEN, timeout: float = 1.0
) -> AsyncIterator[UpstreamClient]:
    """A started client of the services at `urls`, closed after."""
    upstream = UpstreamClient(urls, token=token, timeout=timeout)
    await upstream.start()
    try:
        yield upstream
    finally:
        await upstream.close()


def urls(stand_ins: StandIns, **replace: str) -> dict[str, str]:
    services = ("payments", "kinguin-gateway", "fulfillment", "delivery")
    return {name: replace.get(name.replace("-", "_"), stand_ins.url(name)) for name in services}


async def test_a_service_answers_with_its_document_when_given_the_internal_token(
    stand_ins: StandIns,
) -> None:
    stand_ins.add_order("a@example.com", 0)
    async with client_of(urls(stand_ins)) as upstream:
        page = await upstream.get("payments", "/internal/orders", OrderPage, {"limit": "5"})
    assert isinstance(page, OrderPage)
    assert [o.email for o in page.items] == ["a@example.com"]


async def test_a_down_service_a_5xx_or_a_refused_token_is_unavailable_not_an_error(
    stand_ins: StandIns,
) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    stand_ins.failing.add("delivery")
    async with (
        client_of(urls(stand_ins, payments=down)) as upstream,
        client_of(urls(stand_ins), token="not-the-internal-token") as wrong_token,
    ):
        path = "/internal/orders/00000000-0000-0000-0000-000000000000/timeline"
        assert await upstream.get("payments", path, Timeline) == Unavailable("payments")
        assert await upstream.get("delivery", path, Timeline) == Unavailable("delivery")
        assert await wrong_token.get("fulfillment", path, Timeline) == Unavailable("fulfillment")


async def test_a_service_slower_than_the_timeout_is_unavailable(stand_ins: StandIns) -> None:
    stand_ins.slow.add("kinguin-gateway")
    async with client_of(urls(stand_ins)) as upstream:
        path = "/internal/orders/00000000-0000-0000-0000-000000000000/timeline"
        answer = await upstream.get("kinguin-gateway", path, Timeline)
    assert answer == Unavailable("kinguin-gateway")


async def test_a_404_is_reported_as_not_found(stand_ins: StandIns) -> None:
    async with client_of(urls(stand_ins)) as upstream:
        answer = await upstream.get(
            "payments", "/internal/orders/00000000-0000-0000-0000-000000000000", Timeline
        )
    assert answer == NotFound("payments")


async def test_a_post_sends_its_json_body_and_the_actor_and_reads_a_refusal_as_an_answer(
    stand_ins: StandIns,
) -> None:
    stand_ins.refusals["/internal/things/1/do"] = (409, {"error": "done_already"})
    async with client_of(urls(stand_ins)) as upstream:
        with_body = await upstream.post("payments", "/internal/things/2/do", "bob", {"a": 1})
        without = await upstream.post("payments", "/internal/things/1/do", "bob")
    assert with_body == Reply(200, {"done": "/internal/things/2/do"})
    assert without == Reply(409, {"error": "done_already"})
    assert stand_ins.bodies == [{"a": 1}, None]
    assert [actor for _, _, actor in stand_ins.posts] == ["bob", "bob"]
