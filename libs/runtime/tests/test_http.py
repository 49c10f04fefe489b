"""Reading JSON bodies: every malformed body is a 400 with a reason, never a 500."""

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bitloot_runtime.http import EXCEPTION_HANDLERS, read_json


async def echo(request: Request) -> JSONResponse:
    _, document = await read_json(request)
    return JSONResponse({"type": type(document).__name__})


def app() -> Starlette:
    return Starlette(
        routes=[Route("/echo", echo, methods=["POST"])], exception_handlers=EXCEPTION_HANDLERS
    )


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"a": "\xff"}',
        b"1" + b"0" * 5000,  # longer than Python converts to an int
        b"[" * 10_000 + b"]" * 10_000,
    ],
    ids=["syntax", "invalid utf-8", "huge integer", "deeply nested"],
)
async def test_a_malformed_body_is_a_400_naming_the_reason(body: bytes) -> None:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        answer = await http.post(
            "/echo", content=body, headers={"content-type": "application/json"}
        )
    assert answer.status_code == 400
    assert answer.json()["error"] == "malformed_json"
