"""The admin's actions once per idempotency key (issue #23): a hundred concurrent API
calls with one key, or a form sent twice, ask the service once, are audited once and
all get the first answer; the key is passed on to the service."""

import asyncio
import re
from typing import cast
from uuid import uuid4

import httpx
from admin_support import RunningAdmin, StandIns, audit_of, csrf_of
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bitloot_admin.entrypoints.context import AdminWeb
from bitloot_admin.entrypoints.keys import api_action

CONCURRENT = 100


async def test_a_hundred_concurrent_calls_with_one_key_act_once_and_pass_the_key_on(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id, key = uuid4(), str(uuid4())
    path = f"/admin/api/orders/{order_id}/resend-email"
    answers = await asyncio.gather(
        *(alice.post(path, headers={"Idempotency-Key": key}) for _ in range(CONCURRENT))
    )
    assert {(a.status_code, a.content) for a in answers} == {(200, answers[0].content)}
    assert stand_ins.posts == [("delivery", f"/internal/orders/{order_id}/emails", "alice")]
    assert stand_ins.keys == [key]
    assert len(await audit_of(alice, "email_resend")) == 1


async def test_calls_without_a_key_each_act_with_a_key_of_their_own(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id = uuid4()
    for _ in range(2):
        assert (await alice.post(f"/admin/api/orders/{order_id}/retry")).status_code == 200
    assert len(stand_ins.posts) == 2
    assert len({key for key in stand_ins.keys if key}) == 2


async def test_a_key_reused_for_another_action_is_refused_and_nothing_is_asked(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    key = {"Idempotency-Key": str(uuid4())}
    assert (await alice.post(f"/admin/api/orders/{uuid4()}/retry", headers=key)).is_success
    reused = await alice.post(f"/admin/api/orders/{uuid4()}/retry", headers=key)
    assert (reused.status_code, reused.json()["error"]) == (422, "idempotency_key_reused")
    bad = await alice.post(f"/admin/api/orders/{uuid4()}/retry", headers={"Idempotency-Key": "x"})
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_idempotency_key")
    assert len(stand_ins.posts) == 1


def _form_keys(page: httpx.Response) -> list[str]:
    return re.findall(r'name="idempotency_key" value="([^"]+)"', page.text)


async def test_each_form_carries_a_fresh_key_and_a_form_sent_twice_acts_once(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    stand_ins.dead_letters["delivery"] = [
        {"id": 4, "queue": "delivery.keys.delivered", "reason": "exhausted", "replayed_at": None},
        {"id": 5, "queue": "delivery.keys.delivered", "reason": "exhausted", "replayed_at": None},
    ]
    page = await browser.get("/admin/dead-letters")
    keys = _form_keys(page)
    assert len(keys) == len(set(keys)) == 2
    assert set(keys).isdisjoint(_form_keys(await browser.get("/admin/dead-letters")))
    form = {"csrf": csrf_of(page), "idempotency_key": keys[0], "back": "/admin/dead-letters"}
    path = "/admin/dead-letters/delivery/4/replay"
    first, second = await asyncio.gather(
        browser.post(path, data=form), browser.post(path, data=form)
    )
    assert first.status_code == second.status_code == 200
    assert first.text == second.text
    assert "Done: delivery accepted it." in first.text
    assert stand_ins.posts == [("delivery", "/internal/dead-letters/4/replay", "alice")]
    assert stand_ins.keys == [keys[0]]


async def test_a_replayed_letter_is_offered_only_as_replay_again_which_forces_it(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    stand_ins.dead_letters["delivery"] = [
        {"id": 4, "queue": "q", "reason": "exhausted", "replayed_at": "2026-12-06T08:00:00+00:00"}
    ]
    page = await browser.get("/admin/dead-letters", params={"include_replayed": "true"})
    assert "Replay again" in page.text
    assert 'name="force" value="true"' in page.text
    form = {"csrf": csrf_of(page), "idempotency_key": _form_keys(page)[0], "force": "true"}
    assert (await browser.post("/admin/dead-letters/delivery/4/replay", data=form)).is_success
    assert stand_ins.posts == [("delivery", "/internal/dead-letters/4/replay?force=true", "alice")]


async def test_a_form_refused_by_the_service_sent_twice_asks_it_once(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    stand_ins.dead_letters["delivery"] = [
        {"id": 4, "queue": "delivery.keys.delivered", "reason": "exhausted", "replayed_at": None},
    ]
    stand_ins.refusals["/internal/dead-letters/4/replay"] = (409, {"error": "already_replayed"})
    page = await browser.get("/admin/dead-letters")
    form = {"csrf": csrf_of(page), "idempotency_key": _form_keys(page)[0]}
    path = "/admin/dead-letters/delivery/4/replay"
    for _ in range(2):
        refused = await browser.post(path, data=form)
        assert refused.status_code == 502  # the page's status; the key kept on the 409
    assert stand_ins.posts == [("delivery", "/internal/dead-letters/4/replay", "alice")]


async def test_a_link_asked_again_with_its_key_is_not_shown_again(
    alice: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    order_id, key = uuid4(), {"Idempotency-Key": str(uuid4())}
    path = f"/admin/api/orders/{order_id}/link"
    first = await alice.post(path, headers=key)
    assert first.status_code == 200
    assert "/link" in first.text  # the stand-in's answer: what a real link would be
    again = await alice.post(path, headers=key)
    assert again.status_code == 200
    assert again.json()["error"] == "answer_not_kept"
    assert "/link" not in again.text
    assert len(stand_ins.posts) == 1


class _LoggedIn:
    """The session's part for this test: the admin is who ``X-Who`` says."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        who = dict(scope["headers"]).get(b"x-who", b"").decode()
        scope.setdefault("state", {}).update(admin=who)
        await self.app(scope, receive, send)


async def test_an_admins_key_never_answers_another_admin(admin: RunningAdmin) -> None:
    acted: list[str] = []

    async def act(request: Request) -> Response:
        acted.append(request.state.admin)
        return JSONResponse({"for": request.state.admin})

    web = cast(AdminWeb, type("Web", (), {"keys": admin.runtime.idempotency})())
    app = Starlette(routes=[Route("/act", api_action(web, act), methods=["POST"])])
    transport = httpx.ASGITransport(app=_LoggedIn(app))
    key = str(uuid4())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        for who in ("alice", "bob", "alice"):
            answer = await http.post("/act", headers={"Idempotency-Key": key, "X-Who": who})
            assert answer.json() == {"for": who}
    assert acted == ["alice", "bob"]  # bob acted (and is audited) for himself
