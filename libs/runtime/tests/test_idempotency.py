"""Idempotency keys (issue #23): a repeated action request has one effect and one answer,
however many arrive at once; proved with 100 concurrent requests on real PostgreSQL (and
RabbitMQ for a dead letter's replay)."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
from runtime_support import (
    SERVICE,
    WIDGET_MADE,
    Recorder,
    running_service,
    settings_for,
    track,
    widget_event,
)
from runtime_support import metadata as widgets_metadata
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitloot_runtime.app import create_app
from bitloot_runtime.db import create_engine, migrate
from bitloot_runtime.dead_letters import DeadLetterStore
from bitloot_runtime.delivery import Delivery
from bitloot_runtime.http import EXCEPTION_HANDLERS, HttpError
from bitloot_runtime.idempotency import IdempotencyStore, idempotent
from bitloot_runtime.publisher import BusPublisher
from bitloot_runtime.tables import idempotency_keys
from bitloot_testing.bus import eventually
from bitloot_testing.rabbitmq import BusNamespace

CONCURRENT = 100


class Counted:
    """An action whose every run is counted: what a second effect would show."""

    def __init__(self) -> None:
        self.runs = 0
        self.fail_next = False

    async def __call__(self, request: Request) -> Response:
        self.runs += 1
        await asyncio.sleep(0.2)  # the repeats arrive while the first is under way
        if self.fail_next:
            self.fail_next = False
            return JSONResponse({"error": "boom"}, status_code=500)
        if request.path_params["thing"] == "missing":
            raise HttpError(404, "thing_not_found", "No such thing.")
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
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as http:
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


async def test_a_failed_first_attempt_frees_the_key_and_a_refusal_is_kept(
    database_url: str,
) -> None:
    async with action_app(database_url) as (http, action, _keys):
        headers = {"Idempotency-Key": str(uuid4())}
        action.fail_next = True
        assert (await http.post("/things/a/act", headers=headers)).status_code == 500
        retried = await http.post("/things/a/act", headers=headers)
        assert retried.status_code == 200
        assert action.runs == 2
        missing = {"Idempotency-Key": str(uuid4())}
        first = await http.post("/things/missing/act", headers=missing)
        again = await http.post("/things/missing/act", headers=missing)
        assert first.status_code == again.status_code == 404
        assert again.json()["error"] == "thing_not_found"
        assert action.runs == 3


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


async def test_keys_older_than_their_lifetime_are_swept(database_url: str) -> None:
    async with action_app(database_url, ttl=timedelta(hours=1)) as (http, _action, keys):
        await http.post("/things/a/act", headers={"Idempotency-Key": str(uuid4())})
        assert await keys.sweep() == 0
        assert await keys.sweep(datetime.now(UTC) + timedelta(hours=2)) == 1
        engine = create_engine(database_url, pool_size=1)
        try:
            async with engine.connect() as connection:
                count = select(func.count()).select_from(idempotency_keys)
                assert (await connection.execute(count)).scalar_one() == 0
        finally:
            await engine.dispose()


async def test_a_dead_letter_replayed_by_a_hundred_concurrent_requests_is_sent_once(
    database_url: str, bus_prefix: BusNamespace
) -> None:
    handler = Recorder()
    settings = settings_for(database_url, bus_prefix.amqp_url, bus_prefix.prefix)
    async with running_service(settings, handler) as runtime:
        track(bus_prefix, runtime)
        sent = _count_sends(runtime.publisher)
        app = create_app(runtime, internal_tokens=["internal-token"])
        transport = httpx.ASGITransport(app=app)
        auth = {"Authorization": "Bearer internal-token"}
        queue = runtime.topology.queue_name(SERVICE, WIDGET_MADE)
        letter_id = await _park_widget(runtime.dead_letters, queue)
        path = f"/internal/dead-letters/{letter_id}/replay"
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as http:
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
