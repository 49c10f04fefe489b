"""The internal API's guard: only the exact current or previous service token opens it;
and the window a figures endpoint is asked for."""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bitloot_runtime.http import HttpError, parse_query
from bitloot_runtime.internal import InternalAuthMiddleware, StatsQuery
from bitloot_testing.asgi import asgi_client

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
    async with asgi_client(app(), "http://test") as http:
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


def stats_since(since: str | None) -> datetime:
    query = urlencode({"since": since}) if since is not None else ""
    request = Request({"type": "http", "query_string": query.encode(), "headers": []})
    return parse_query(StatsQuery, request).since


def test_a_figures_window_starts_at_a_zoned_time_within_the_last_month() -> None:
    start = datetime.now(UTC) - timedelta(days=7)
    assert stats_since(start.isoformat()) == start
    for since in (
        None,
        "",
        "yesterday",
        "2026-01-01T00:00:00",
        (datetime.now(UTC) - timedelta(days=40)).isoformat(),
        (datetime.now(UTC) + timedelta(days=1)).isoformat(),
    ):
        with pytest.raises(HttpError) as refused:
            stats_since(since)
        assert (refused.value.status, refused.value.code) == (422, "invalid_since"), since
