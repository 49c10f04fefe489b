"""The admin's actions, once per idempotency key (issue #23).

Every action form carries a fresh key in its hidden ``idempotency_key`` field, made when
the page holding the form was rendered, so a double click or a form sent again has one
effect: the repeat waits for the first submission and is shown its result page. An API
client sends its own ``Idempotency-Key`` header; without one the admin makes one for the
call, so each call acts (as before) and the service it asks still gets a key. Either way
the key is passed to that service (`UpstreamClient.post`), whose own table makes the
action once even if the admin's answer was lost and the action is sent again.

A key belongs to the admin who sent it: another admin's same key is another request (acted
on and audited for them). An answer holding a secret (a reveal link, a presigned URL) is
marked ``Cache-Control: no-store`` and so kept only by its status: the repeat is told the
answer was given once (``answer_not_kept``), never shown the secret again.
"""

from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response

from bitloot_admin.entrypoints.context import AdminWeb
from bitloot_admin.entrypoints.render import page
from bitloot_runtime.http import HttpError
from bitloot_runtime.idempotency import (
    ANSWER_NOT_KEPT,
    IDEMPOTENCY_HEADER,
    REPLAYED_HEADER,
    Endpoint,
    new_key,
    read_body,
    run_once,
    valid_key,
)

FORM_FIELD = "idempotency_key"
# The actions whose answer is a secret: never kept for a repeat.
SECRET_ACTIONS = ("/link", "/object-url")


def _checked(raw: str | None) -> str:
    if raw is None or raw == "":
        return new_key()
    key = valid_key(raw)
    if key is None:
        detail = "The idempotency key must be 8-200 printable ASCII characters (a UUID)."
        raise HttpError(400, "invalid_idempotency_key", detail)
    return key


def _secrets_not_kept(endpoint: Endpoint) -> Endpoint:
    async def marked(request: Request) -> Response:
        response = await endpoint(request)
        if request.url.path.endswith(SECRET_ACTIONS):
            response.headers["Cache-Control"] = "no-store"
        return response

    return marked


async def _once(web: AdminWeb, key: str, request: Request, endpoint: Endpoint) -> Response:
    """`run_once` in the logged-in admin's scope."""
    scope = str(request.state.admin)
    marked = _secrets_not_kept(endpoint)
    return await run_once(web.keys, key, request, marked, scope=scope, verdict=_verdict)


def _verdict(request: Request, response: Response) -> int:
    """The status a key is kept or freed on: the service's (set by a form's page, which
    shows any refusal as 502) if known, else the answer's own."""
    return int(getattr(request.state, "service_status", response.status_code))


def api_action(web: AdminWeb, endpoint: Endpoint) -> Endpoint:
    """`endpoint` once per ``Idempotency-Key`` header (a new key per call without one)."""

    async def once(request: Request) -> Response:
        key = _checked(request.headers.get(IDEMPOTENCY_HEADER))
        return await _once(web, key, request, endpoint)

    return once


def form_action(web: AdminWeb, endpoint: Endpoint) -> Endpoint:
    """`endpoint` once per the form's ``idempotency_key`` (a new key without one)."""

    async def once(request: Request) -> Response:
        try:
            # Kept by Starlette, so the form is read again by the action itself.
            fields = parse_qs((await read_body(request)).decode(errors="replace"))
            key = _checked(fields.get(FORM_FIELD, [None])[0])
            response = await _once(web, key, request, endpoint)
        except HttpError as exc:
            return page(web, request, "error.html", {"error": exc.detail}, exc.status)
        if response.headers.get(REPLAYED_HEADER) and ANSWER_NOT_KEPT.encode() in response.body:
            detail = (
                "This form was already sent and acted on; its answer (a link or URL) was "
                "shown once and is not kept. Ask for a new one if it was lost."
            )
            return page(web, request, "error.html", {"error": detail}, response.status_code)
        return response

    return once
