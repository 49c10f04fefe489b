"""The admin's actions, once per idempotency key (issue #23).

Every action form carries a fresh key in its hidden ``idempotency_key`` field, made when
the page holding the form was rendered, so a double click or a form sent again has one
effect: the repeat waits for the first submission and is shown its result page. An API
client sends its own ``Idempotency-Key`` header; without one the admin makes one for the
call, so each call acts (as before) and the service it asks still gets a key. Either way
the key is passed to that service (`UpstreamClient.post`), whose own table makes the
action once even if the admin's answer was lost and the action is sent again.
"""

from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response

from bitloot_admin.entrypoints.context import AdminWeb
from bitloot_admin.entrypoints.render import page
from bitloot_runtime.http import HttpError
from bitloot_runtime.idempotency import IDEMPOTENCY_HEADER, new_key, run_once, valid_key

FORM_FIELD = "idempotency_key"

Endpoint = Callable[[Request], Awaitable[Response]]


def _checked(raw: str | None) -> str:
    if raw is None or raw == "":
        return new_key()
    key = valid_key(raw)
    if key is None:
        detail = "The idempotency key must be 8-200 printable ASCII characters (a UUID)."
        raise HttpError(400, "invalid_idempotency_key", detail)
    return key


def api_action(web: AdminWeb, endpoint: Endpoint) -> Endpoint:
    """`endpoint` once per ``Idempotency-Key`` header (a new key per call without one)."""

    async def once(request: Request) -> Response:
        key = _checked(request.headers.get(IDEMPOTENCY_HEADER))
        return await run_once(web.keys, key, request, endpoint)

    return once


def form_action(web: AdminWeb, endpoint: Endpoint) -> Endpoint:
    """`endpoint` once per the form's ``idempotency_key`` (a new key without one)."""

    async def once(request: Request) -> Response:
        try:
            # Kept by Starlette, so the form is read again by the action itself.
            fields = parse_qs((await request.body()).decode(errors="replace"))
            key = _checked(fields.get(FORM_FIELD, [None])[0])
            return await run_once(web.keys, key, request, endpoint)
        except HttpError as exc:
            return page(web, request, "error.html", {"error": exc.detail}, exc.status)

    return once
