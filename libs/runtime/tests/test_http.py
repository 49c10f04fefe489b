"""Reading JSON bodies: every malformed body is a 400 with a reason, never a 500; a
database that fails for a moment is a 503 with Retry-After, a bug still a 500."""

import json
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import Field
from sqlalchemy.exc import DBAPIError, ProgrammingError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bitloot_runtime.http import (
    EXCEPTION_HANDLERS,
    HttpError,
    QueryFlag,
    QueryModel,
    Refusal,
    Whole,
    parse_json,
    parse_query,
    path_uuid,
    read_json,
    refusal_handlers,
)
from bitloot_runtime.logging import RedactingFilter
from bitloot_testing.asgi import asgi_client


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
        b'{"price": 1e999}',
        b'{"price": NaN}',
        b'{"title": "\\ud800"}',
    ],
    ids=[
        "syntax",
        "invalid utf-8",
        "huge integer",
        "deeply nested",
        "float overflowing to infinity",
        "NaN",
        "lone surrogate",
    ],
)
async def test_a_malformed_body_is_a_400_naming_the_reason(body: bytes) -> None:
    async with asgi_client(app(), "http://test") as http:
        answer = await http.post(
            "/echo", content=body, headers={"content-type": "application/json"}
        )
    assert answer.status_code == 400
    assert answer.json()["error"] == "malformed_json"


async def post(body: bytes, content_type: str = "application/json") -> httpx.Response:
    async with asgi_client(app(), "http://test") as http:
        return await http.post("/echo", content=body, headers={"content-type": content_type})


@pytest.mark.parametrize(
    "body",
    [b'{"email": "a@example.com", "email": "b@example.com"}', b'[{"a": {"b": 1, "b": 1}}]'],
    ids=["top level", "nested"],
)
async def test_a_key_given_twice_is_a_400_naming_the_key(body: bytes) -> None:
    answer = await post(body)
    assert answer.status_code == 400
    assert answer.json()["error"] == "duplicate_json_key"
    assert "appears twice" in answer.json()["detail"]


async def test_another_content_type_is_a_415() -> None:
    answer = await post(b"email=a@example.com", "application/x-www-form-urlencoded")
    assert answer.status_code == 415
    assert answer.json()["error"] == "unsupported_media_type"


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@st.composite
def mangled_json(draw: st.DrawFn) -> bytes:
    """Valid JSON with bytes cut out, spliced in or replaced: near misses a parser must refuse."""
    raw = bytearray(json.dumps(draw(JSON_VALUES)).encode())
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(raw)))
        raw[at:at] = draw(st.binary(max_size=4) | st.sampled_from([b'"\\ud800"', b"1e999", b"NaN"]))
    return bytes(raw)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=64) | mangled_json() | JSON_VALUES.map(lambda v: json.dumps(v).encode()))
def test_any_bytes_parse_to_a_document_or_a_400(raw: bytes) -> None:
    refusal: HttpError | None = None
    try:
        document: Any = parse_json(raw)
    except HttpError as exc:
        refusal = exc
    if refusal is not None:
        assert (refusal.status, refusal.code) in {
            (400, "malformed_json"),
            (400, "duplicate_json_key"),
        }
        return
    # What was accepted is strict JSON that any answer can write back.
    assert json.loads(json.dumps(document, allow_nan=False, ensure_ascii=False)) == document


async def _raises(error: Exception) -> httpx.Response:
    async def fail(_request: Request) -> JSONResponse:
        raise error

    routed = Starlette(routes=[Route("/", fail)], exception_handlers=EXCEPTION_HANDLERS)
    async with asgi_client(routed, raise_app_exceptions=False) as client:
        return await client.get("/")


async def test_a_lost_database_connection_is_a_503_with_retry_after() -> None:
    lost = DBAPIError("SELECT 1", None, ConnectionResetError(), connection_invalidated=True)
    answer = await _raises(lost)
    assert (answer.status_code, answer.headers["retry-after"]) == (503, "2")
    assert answer.json()["error"] == "temporarily_unavailable"


async def test_a_database_error_that_is_not_transient_stays_a_500() -> None:
    """A bad statement is a bug: asking the client to retry it would hide it."""
    answer = await _raises(ProgrammingError("SELECT nothing", None, ValueError("no column")))
    assert answer.status_code == 500


class Filters(QueryModel):
    refusal = "invalid_filter"
    own_codes = frozenset({"limit"})

    limit: Whole = Field(10, ge=1)
    ids: list[int] = []
    done: QueryFlag | None = None


def query_request(text: str) -> Request:
    return Request({"type": "http", "query_string": text.encode()})


def test_a_query_model_reads_repeated_parameters_and_strict_flags() -> None:
    found = parse_query(Filters, query_request("ids=1&ids=2&done=false&other=x"))
    assert (found.limit, found.ids, found.done) == (10, [1, 2], False)
    for text, code in (
        ("limit=0", "invalid_limit"),
        ("limit=+5", "invalid_limit"),
        ("done=yes", "invalid_filter"),
    ):
        with pytest.raises(HttpError) as refused:
            parse_query(Filters, query_request(text))
        assert (refused.value.status, refused.value.code) == (422, code)
        assert refused.value.fields[0]["field"] == text.split("=")[0]


class Refused(Exception):
    code = "nope"


async def test_the_refusal_table_answers_a_service_exception_in_the_error_shape() -> None:
    async def refuse(_request: Request) -> JSONResponse:
        raise Refused("No.")

    handlers = refusal_handlers({Refused: Refusal(lambda _exc: 409)})
    served = Starlette(routes=[Route("/", refuse)], exception_handlers=handlers)
    async with asgi_client(served, "") as http:
        answer = await http.get("http://test/")
    assert (answer.status_code, answer.json()) == (
        409,
        {"error": "nope", "detail": "No.", "fields": []},
    )


async def test_a_refusal_logged_on_an_orders_route_carries_its_order_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def refuse(_request: Request) -> JSONResponse:
        raise Refused("No.")

    handlers = refusal_handlers({Refused: Refusal(403, log="order view refused")})
    routes = [Route("/orders/{order_id:uuid}", refuse)]
    served = Starlette(routes=routes, exception_handlers=handlers)
    caplog.handler.addFilter(RedactingFilter())  # binds the log context, as in a service
    order_id = "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"
    async with asgi_client(served, "") as http:
        assert (await http.get(f"http://test/orders/{order_id}")).status_code == 403
    [record] = [r for r in caplog.records if r.getMessage() == "order view refused"]
    assert record.__dict__["order_id"] == order_id
    assert record.__dict__["code"] == "nope"


async def test_a_path_id_that_is_no_uuid_is_answered_as_the_service_chooses() -> None:
    async def show(request: Request) -> JSONResponse:
        return JSONResponse({"id": str(path_uuid(request))})

    async def hidden(request: Request) -> JSONResponse:
        return JSONResponse({"id": str(path_uuid(request, status=404, code="order_not_found"))})

    routes = [Route("/a/{order_id}", show), Route("/b/{order_id}", hidden)]
    served = Starlette(routes=routes, exception_handlers=EXCEPTION_HANDLERS)
    order_id = "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f"
    async with asgi_client(served, "") as http:
        assert (await http.get(f"http://test/a/{order_id}")).json() == {"id": order_id}
        bad = await http.get("http://test/a/nope")
        assert (bad.status_code, bad.json()["error"]) == (422, "invalid_order_id")
        hid = await http.get("http://test/b/nope")
        assert (hid.status_code, hid.json()["error"]) == (404, "order_not_found")
