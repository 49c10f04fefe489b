"""The OpenAPI description covers every API route, and says how errors look."""

import re

import httpx
from admin_support import RunningAdmin
from starlette.routing import Mount, Route


def _api_routes(admin: RunningAdmin) -> set[tuple[str, str]]:
    mount = next(r for r in admin.app.routes if isinstance(r, Mount) and r.path == "/admin")
    found: set[tuple[str, str]] = set()
    for route in mount.routes:
        if isinstance(route, Route) and route.path.startswith("/api/"):
            path = "/admin" + re.sub(r"\{(\w+)(:\w+)?\}", r"{\1}", route.path)
            found |= {(path, m.lower()) for m in route.methods or () if m != "HEAD"}
    return found


async def test_every_api_route_is_described_and_nothing_else(admin: RunningAdmin) -> None:
    async with admin.client() as client:
        answer = await client.get("/admin/openapi.json")
    assert answer.status_code == 200
    document = answer.json()
    described = {
        (path, method)
        for path, operations in document["paths"].items()
        for method in operations
        if path.startswith("/admin/api/")
    }
    assert described == _api_routes(admin)
    assert document["components"]["schemas"]["Error"]["required"] == ["error", "detail", "fields"]


async def test_an_unknown_api_path_answers_the_error_shape(alice: httpx.AsyncClient) -> None:
    answer = await alice.get("/admin/api/nothing-here")
    assert answer.status_code == 404
    assert set(answer.json()) == {"error", "detail", "fields"}
