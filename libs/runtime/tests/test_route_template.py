from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bitloot_runtime.route_template import UNMATCHED, route_template
from bitloot_testing.asgi import asgi_client


async def ok(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


class Record:
    def __init__(self, app: ASGIApp, seen: list[str]) -> None:
        self.app = app
        self.seen = seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
        self.seen.append(route_template(scope))


async def templates_of(*paths: str) -> list[str]:
    seen: list[str] = []
    inner = [Route("/orders/{order_id}", ok), Route("/", ok)]
    app = Starlette(routes=[Route("/orders/{order_id}/keys", ok), Mount("/admin", routes=inner)])
    app.add_middleware(Record, seen=seen)
    async with asgi_client(app) as http:
        for path in paths:
            await http.get(path)
    return seen


async def test_a_path_with_an_id_is_named_by_its_template() -> None:
    assert await templates_of("/orders/7f3a/keys") == ["/orders/{order_id}/keys"]


async def test_a_mounted_route_carries_its_mount_prefix() -> None:
    seen = await templates_of("/admin/orders/42", "/admin/")
    assert seen == ["/admin/orders/{order_id}", "/admin/"]


async def test_paths_that_match_nothing_share_one_value() -> None:
    seen = await templates_of("/wp-login.php", "/.env", "/admin/wp-login.php")
    assert seen == [UNMATCHED, UNMATCHED, UNMATCHED]
