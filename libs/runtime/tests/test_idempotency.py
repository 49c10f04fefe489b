"""Idempotency keys (issue #23): a repeated action request has one effect and one answer,
however many arrive at once; proved with 100 concurrent requests on real PostgreSQL (and
RabbitMQ for a dead letter's replay)."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from runtime_support import (
    SERVICE,
    WIDGET_MADE,
    Recorder,
    on_bus,
    widget_event,
)
from runtime_support import metadata as widgets_metadata
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker
from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitloot_runtime.app import create_app
from bitloot_runtime.db import create_engine, migrate
from bitloot_runtime.dead_letters import DeadLetterStore
from bitloot_runtime.delivery import Delivery
from bitloot_runtime.http import EXCEPTION_HANDLERS, HttpError
from bitloot_runtime.idempotency import (
    MAX_KEYED_BODY,
    IdempotencyStore,
    idempotent,
    keyed_routes,
)
from bitloot_runtime.publisher import BusPublisher
from bitloot_runtime.tables import idempotency_keys
from bitloot_testing.asgi import asgi_client
from bitloot_testing.bus import eventually
from bitloot_testing.rabbitmq import BusNamespace

CONCURRENT = 100


class Counted:
    """An action whose every run is counted: what a second effect would show."""

    def __init__(self) -> None:
        self.runs = 0
        self.fail_next = False

    async def __call__(self, request: Request) -> Response:
        thing = request.path_params["thing"]
        if thing == "down":  # a dependency checked before acting is down: nothing done
            raise HttpError(503, "dependency_unavailable", "Try again.")
        self.runs += 1
        await asyncio.sleep(0.2)  # the repeats arrive while the first is under way
        if self.fail_next:
            self.fail_next = False
            return JSONResponse({"error": "boom"}, status_code=500)
        if thing == "missing":
            raise HttpError(404, "thing_not_found", "No such thing.")
        if thing == "secret":
            headers = {"Cache-Control": "no-store", "X-Secret-Kind": "link"}
            return JSONResponse({"link": "jwt-opening-the-keys"}, 201, headers=headers)
        if thing == "cookie":
            answer = JSONResponse({"run": self.runs}, 201, headers={"Location": "/things/1"})
            answer.set_cookie("session", "not-for-the-repeat")
            return answer
        return JSONResponse({"run": self.runs, "body": (await request.body()).decode()})


@asynccontextmanager
async def action_app(
    database_url: str, **store: object
) -> AsyncIterator[tuple[httpx.AsyncClient, Counted, IdempotencyStore]]:
    await migrate(database_url, widgets_metadata, [])
    engine = create_engine(database_url)
    keys = IdempotencyStore(async_sessionmaker(engine), **store)  # type: ignore[arg-type]
    action = Counted()
    route = Route("/things/{thing}/act", idempotent(keys, action), methods=["POST"])
    app = Starlette(routes=[route], exception_handlers=EXCEPTION_HANDLERS)
    try:
        async with asgi_client(app) as http:
            yield http, action, keys
    finally:
        await engine.dispose()


async def test_a_hundred_concurrent_repeats_of_one_key_have_one_effect_and_one_answer(
    database_url: str,
) -> None:
    async with action_app(database_url) as (http, action, _keys):
        headers = {"Idempotency-Key": str(uuid4())}
        answers = await asyncio.gather(
            *(http.post("/things/a/act", headers=headers, content=b"x") for _ in range(CONCURRENT))
        )
        assert action.runs == 1
        assert {(a.status_code, a.content) for a in answers} == {(200, answers[0].content)}
        assert answers[0].json() == {"run": 1, "body": "x"}
        replayed = [a for a in answers if a.headers.get("idempotent-replayed") == "true"]
        assert len(replayed) == CONCURRENT - 1
        later = await http.post("/things/a/act", headers=headers, content=b"x")
        assert (later.status_code, later.content) == (200, answers[0].content)
        assert action.runs == 1


async def test_a_key_sent_with_another_request_is_refused_and_changes_nothing(
    database_url: str,
) -> None:
    async with action_app(database_url) as (http, action, _keys):
        headers = {"Idempotency-Key": str(uuid4())}
        assert (await http.post("/things/a/act", headers=headers, content=b"x")).status_code == 200
        for path, body in (("/things/a/act", b"y"), ("/things/b/act", b"x")):
            refused = await http.post(path, headers=headers, content=body)
            assert refused.status_code == 422
            assert refused.json()["error"] == "idempotency_key_reused"
        assert action.runs == 1


async def test_without_a_key_each_request_acts_and_a_malformed_key_is_refused(
    database_url: str,
) -> None:
    async with action_app(database_url) as (http, action, _keys):
        for _ in range(2):
            assert (await http.post("/things/a/act")).status_code == 200
        assert action.runs == 2
        for bad in ("short", "a key with spaces in it", "x" * 201):
            refused = await http.post("/things/a/act", headers={"Idempotency-Key": bad})
            assert refused.status_code == 400
            assert refused.json()["error"] == "invalid_idempotency_key"
        assert action.runs == 2


async def test_a_failure_after_acting_is_in_doubt_and_never_run_again_by_any_repeat(
    database_url: str,
) -> None:
    async with action_app(database_url) as (http, action, _keys):
        headers = {"Idempotency-Key": str(uuid4())}
        action.fail_next = True
        answers = await asyncio.gather(
            *(http.post("/things/a/act", headers=headers) for _ in range(10))
        )
        assert sorted(a.status_code for a in answers) == [409] * 9 + [500]
        assert {a.json()["error"] for a in answers if a.status_code == 409} == {
            "idempotency_key_in_doubt"
        }
        later = await http.post("/things/a/act", headers=headers)
        assert later.status_code == 409
        assert later.json()["error"] == "idempotency_key_in_doubt"
        assert action.runs == 1


async def test_a_refusal_before_acting_frees_the_key_and_a_refusal_is_kept(
    database_url: str,
) -> None:
    async with action_app(database_url) as (http, action, _keys):
        headers = {"Idempotency-Key": str(uuid4())}
        for _ in range(2):
            refused = await http.post("/things/down/act", headers=headers)
            assert refused.status_code == 503
            assert "idempotent-replayed" not in refused.headers  # asked again, not replayed
        # Freed: the key is unused, so it may even name another request now.
        assert (await http.post("/things/a/act", headers=headers)).status_code == 200
        assert action.runs == 1
        missing = {"Idempotency-Key": str(uuid4())}
        first = await http.post("/things/missing/act", headers=missing)
        again = await http.post("/things/missing/act", headers=missing)
        assert first.status_code == again.status_code == 404
        assert again.json()["error"] == "thing_not_found"
        assert action.runs == 2


async def test_a_repeat_waits_only_so_long_for_an_unfinished_first_request(
    database_url: str,
) -> None:
    async with action_app(database_url, wait_seconds=0.05) as (http, action, _keys):
        headers = {"Idempotency-Key": str(uuid4())}
        first, repeat = await asyncio.gather(
            http.post("/things/a/act", headers=headers),
            http.post("/things/a/act", headers=headers),
        )
        assert sorted([first.status_code, repeat.status_code]) == [200, 409]
        told = first if first.status_code == 409 else repeat
        assert told.json()["error"] == "idempotency_key_in_progress"
        assert action.runs == 1


async def _rows(database_url: str) -> list[dict[str, Any]]:
    engine = create_engine(database_url, max_connections=2)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(select(idempotency_keys))
            return [dict(row) for row in rows.mappings()]
    finally:
        await engine.dispose()


async def test_answered_keys_are_swept_after_their_lifetime_and_unanswered_ones_much_later(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = {"ttl": timedelta(hours=1), "doubt_ttl": timedelta(hours=10)}
    async with action_app(database_url, **store) as (http, action, keys):
        await keys.sweep(datetime.now(UTC) + timedelta(days=1))  # other tests' keys
        await http.post("/things/a/act", headers={"Idempotency-Key": str(uuid4())})
        action.fail_next = True
        doubtful = str(uuid4())
        await http.post("/things/b/act", headers={"Idempotency-Key": doubtful})
        assert await keys.sweep() == 0
        assert await keys.sweep(datetime.now(UTC) + timedelta(hours=2)) == 1
        [kept] = await _rows(database_url)
        assert kept["key"].endswith(doubtful)
        assert kept["doubted_at"] is not None
        with caplog.at_level(logging.WARNING, logger="bitloot_runtime.idempotency"):
            assert await keys.sweep(datetime.now(UTC) + timedelta(hours=11)) == 1
        assert await _rows(database_url) == []
        [swept] = [r for r in caplog.records if "unanswered" in r.getMessage()]
        assert swept.__dict__["action"] == "POST /things/b/act"


async def test_an_answer_not_to_be_stored_is_given_once_and_only_its_status_is_kept(
    database_url: str,
) -> None:
    async with action_app(database_url) as (http, action, _keys):
        headers = {"Idempotency-Key": str(uuid4())}
        first = await http.post("/things/secret/act", headers=headers)
        assert first.json() == {"link": "jwt-opening-the-keys"}
        again = await http.post("/things/secret/act", headers=headers)
        assert again.status_code == 201
        assert again.json()["error"] == "answer_not_kept"
        assert again.headers["cache-control"] == "no-store"
        assert b"jwt-opening-the-keys" not in again.content
        stored = [
            r for r in await _rows(database_url) if r["key"].endswith(headers["Idempotency-Key"])
        ]
        assert b"jwt-opening-the-keys" not in stored[0]["body"]
        assert "link" not in (stored[0]["headers"] or "")
        assert action.runs == 1


async def test_a_repeat_gets_the_end_to_end_headers_but_no_cookie(database_url: str) -> None:
    async with action_app(database_url) as (http, action, _keys):
        headers = {"Idempotency-Key": str(uuid4())}
        first = await http.post("/things/cookie/act", headers=headers)
        assert "set-cookie" in first.headers
        again = await http.post("/things/cookie/act", headers=headers)
        assert (again.status_code, again.json()) == (201, {"run": 1})
        assert again.headers["location"] == "/things/1"
        assert "set-cookie" not in again.headers
        assert action.runs == 1


async def test_a_key_answers_only_the_caller_that_sent_it(database_url: str) -> None:
    async with action_app(database_url) as (http, action, _keys):
        key = str(uuid4())
        alice = {"Idempotency-Key": key, "X-Bitloot-Actor": "alice"}
        mallory = {"Idempotency-Key": key, "X-Bitloot-Actor": "mallory"}
        assert (await http.post("/things/a/act", headers=alice)).json()["run"] == 1
        theirs = await http.post("/things/a/act", headers=mallory)
        assert theirs.json()["run"] == 2  # acted (and audited) for mallory, not alice's answer
        assert "idempotent-replayed" not in theirs.headers
        assert action.runs == 2


async def test_the_query_is_part_of_the_request_a_key_names(database_url: str) -> None:
    async with action_app(database_url) as (http, action, _keys):
        headers = {"Idempotency-Key": str(uuid4())}
        assert (await http.post("/things/a/act?b=2&a=1", headers=headers)).status_code == 200
        same = await http.post("/things/a/act?a=1&b=2", headers=headers)
        assert same.headers.get("idempotent-replayed") == "true"
        forced = await http.post("/things/a/act?a=1&b=2&force=true", headers=headers)
        assert forced.status_code == 422
        assert forced.json()["error"] == "idempotency_key_reused"
        assert action.runs == 1


async def test_a_cancelled_action_leaves_its_key_in_doubt(database_url: str) -> None:
    async with action_app(database_url) as (http, action, _keys):
        headers = {"Idempotency-Key": str(uuid4())}
        first = asyncio.create_task(http.post("/things/a/act", headers=headers))
        await asyncio.sleep(0.1)  # under way: the action has acted and now sleeps 0.2 s
        first.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await first
        await asyncio.sleep(0.2)  # the shielded mark lands
        again = await http.post("/things/a/act", headers=headers)
        assert again.status_code == 409
        assert again.json()["error"] == "idempotency_key_in_doubt"
        assert action.runs == 1


async def test_a_chunked_body_past_the_limit_is_refused_before_acting(
    database_url: str,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(MAX_KEYED_BODY // 65536 + 2):
            yield b"x" * 65536

    async with action_app(database_url) as (http, action, _keys):
        headers = {"Idempotency-Key": str(uuid4())}
        refused = await http.post("/things/a/act", headers=headers, content=chunks())
        assert refused.status_code == 413
        assert action.runs == 0


def test_an_internal_action_that_cannot_be_keyed_is_refused_at_app_creation() -> None:
    class Endpoint(HTTPEndpoint):
        async def post(self, request: Request) -> Response:
            return Response()

    store = IdempotencyStore(async_sessionmaker())
    route = Route("/internal/things/act", Endpoint, methods=["POST"])
    with pytest.raises(TypeError, match="/internal/things/act"):
        keyed_routes(store, [route])


async def test_a_dead_letter_replayed_by_a_hundred_concurrent_requests_is_sent_once(
    database_url: str, bus_prefix: BusNamespace
) -> None:
    handler = Recorder()
    async with on_bus(database_url, bus_prefix, handler) as runtime:
        sent = _count_sends(runtime.publisher)
        app = create_app(runtime, internal_tokens=["internal-token"])
        auth = {"Authorization": "Bearer internal-token"}
        queue = runtime.topology.queue_name(SERVICE, WIDGET_MADE)
        letter_id = await _park_widget(runtime.dead_letters, queue)
        path = f"/internal/dead-letters/{letter_id}/replay"
        async with asgi_client(app) as http:
            keyed = {**auth, "Idempotency-Key": str(uuid4())}
            answers = await asyncio.gather(
                *(http.post(path, headers=keyed) for _ in range(CONCURRENT))
            )
            assert {a.status_code for a in answers} == {200}
            assert {a.json()["replay_count"] for a in answers} == {1}
            assert await eventually(lambda: _handled(handler, 1))
            assert sent == [queue]
            # Without a key, or with new ones: the letter was replayed and not parked again.
            again = await asyncio.gather(
                *(http.post(path, headers=auth) for _ in range(CONCURRENT // 2)),
                *(
                    http.post(path, headers={**auth, "Idempotency-Key": str(uuid4())})
                    for _ in range(CONCURRENT // 2)
                ),
            )
            assert {a.status_code for a in again} == {409}
            assert {a.json()["error"] for a in again} == {"dead_letter_already_replayed"}
            await asyncio.sleep(1.0)
            assert len(handler.calls) == 1
            assert sent == [queue]
            forced = {**auth, "Idempotency-Key": str(uuid4())}
            answers = await asyncio.gather(
                *(http.post(path, headers=forced, params={"force": "true"}) for _ in range(10))
            )
            assert {a.json()["replay_count"] for a in answers} == {2}
            # Sent once more; the consumer's inbox knows the message and does nothing.
            assert sent == [queue, queue]
            await asyncio.sleep(1.0)
            assert len(handler.calls) == 1


def _count_sends(publisher: BusPublisher) -> list[str]:
    """The queues `publisher` sends replays to, as it sends them (it still sends)."""
    sent: list[str] = []
    send = publisher.send_to_queue

    async def counted(*, queue: str, **rest: Any) -> None:
        sent.append(queue)
        await send(queue=queue, **rest)

    publisher.send_to_queue = counted  # type: ignore[method-assign]
    return sent


async def _handled(handler: Recorder, count: int) -> bool:
    return len(handler.calls) == count


async def _park_widget(store: DeadLetterStore, queue: str) -> int:
    event = widget_event("parked")
    delivery = Delivery(
        queue=queue,
        topic=WIDGET_MADE,
        body=event.model_dump_json().encode(),
        message_id=str(event.event_id),
        order_id=str(event.order_id),
        headers={},
        attempt=3,
        first_failed_at=None,
    )
    await store.park(delivery, reason="exhausted", error="ConnectionError: down")
    [letter] = await store.list()
    return letter.id
