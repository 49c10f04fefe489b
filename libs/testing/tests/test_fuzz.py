"""The fuzzer finds what it is for: a 5xx and an answer the description does not list;
and it leaves a well-described endpoint alone."""

from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitloot_testing.fuzz import Target, fuzz


async def square(request: Request) -> Response:
    number = int(request.query_params.get("n", "0"))
    return JSONResponse({"square": number * number})


async def crash(request: Request) -> Response:
    if request.query_params.get("n", "0").startswith("-"):
        raise RuntimeError("negative")
    return JSONResponse({})


async def teapot(_request: Request) -> Response:
    return JSONResponse({"error": "teapot"}, status_code=418)


def document() -> dict[str, Any]:
    n = {"name": "n", "in": "query", "required": True, "schema": {"type": "integer"}}
    ok = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
    bad = {"description": "Not a number", "content": {"application/json": {}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/square": {"get": {"parameters": [n], "responses": {"200": ok, "400": bad}}},
            "/crash": {"get": {"parameters": [n], "responses": {"200": ok}}},
            "/teapot": {"get": {"responses": {"200": ok}}},
        },
    }


async def run(*wanted: str) -> Any:
    app = Starlette(
        routes=[Route("/square", square), Route("/crash", crash), Route("/teapot", teapot)],
        exception_handlers={ValueError: lambda _r, _e: JSONResponse({}, status_code=400)},
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport) as http:
        return await fuzz(http, document(), Target(wanted=lambda label: label in wanted))


async def test_a_5xx_or_an_undescribed_status_is_a_failure_naming_the_operation() -> None:
    report = await run("GET /crash", "GET /teapot")
    assert {failure.split(" (")[0] for failure in report.failures} == {"GET /crash", "GET /teapot"}
    assert any("Server error" in failure for failure in report.failures)
    assert any("Undocumented status code" in failure for failure in report.failures)
    assert report.operations == {("/crash", "get"), ("/teapot", "get")}


async def test_an_endpoint_answering_as_described_passes_with_many_requests() -> None:
    report = await run("GET /square")
    assert report.failures == []
    assert report.requests >= 20
