"""The internal API's guard: only the exact current or previous service token opens it."""

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bitloot_runtime.internal import InternalAuthMiddleware

CURRENT, PREVIOUS = "Current-Token-0123456789", "Previous-Token-0123456789"


async def ok(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def app() -> Starlette:
    return Starlette(
        routes=[Route("/internal/things", ok), Route("/public", ok)],
        middleware=[Middleware(InternalAuthMiddleware, tokens=(CURRENT, PREVIOUS))],
    )


async def status(path: str, authorization: str | None) -> int:
    headers = {"Authorization": authorization} if authorization is not None else {}
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        return (await http.get(path, headers=headers)).status_code


@pytest.mark.parametrize(
    ("authorization", "expected"),
    [
        (f"Bearer {CURRENT}", 200),
        (f"bearer {PREVIOUS}", 200),
        (f"Bearer {CURRENT.lower()}", 401),  # a token's case is part of its strength
        (f"Bearer {CURRENT[:-1]}", 401),
        (f"Basic {CURRENT}", 401),
        ("", 401),
        (None, 401),
    ],
)
async def test_internal_paths_need_the_exact_current_or_previous_token(
    authorization: str | None, expected: int
) -> None:
    assert await status("/internal/things", authorization) == expected


async def test_other_paths_need_no_token() -> None:
    assert await status("/public", None) == 200
