"""Logging in and out: ``GET/POST /admin/login``, the code step ``POST /admin/login/totp``
and ``POST /admin/logout``.

An API client sends its username, password and, once the account has a second factor,
``totp`` (the app's code or a recovery code) in one JSON body. A browser sends the
password first; if the account has a second factor the answer is the code form, which
carries a signed challenge (the proof that the password was right, for five minutes)
instead of the password itself."""

import math

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bitloot_admin.domain.lockout import LoginOutcome
from bitloot_admin.entrypoints.context import AdminWeb
from bitloot_admin.entrypoints.pages_home import HOME_PATH
from bitloot_admin.entrypoints.params import LoginRequest, read_form, read_login
from bitloot_admin.entrypoints.session import (
    LOGIN_PATH,
    check_csrf,
    clear_session_cookie,
    csrf_token,
    set_csrf_cookie,
    set_session_cookie,
)
from bitloot_admin.handlers.accounts import LogIn, Login, ThrottleLogin
from bitloot_admin.handlers.sessions import LogOut
from bitloot_runtime.http import HttpError, error_response
from bitloot_runtime.openapi import PUBLIC, ApiRoute

REFUSALS = {
    LoginOutcome.REJECTED: (401, "invalid_credentials", "Wrong username or password."),
    LoginOutcome.LOCKED: (423, "locked", "Too many failed logins; try again later."),
    LoginOutcome.TOTP_REQUIRED: (
        401,
        "totp_required",
        "This account needs the code of its authenticator app (field totp).",
    ),
    LoginOutcome.TOTP_REJECTED: (401, "invalid_totp", "Wrong code."),
    LoginOutcome.TOTP_REPLAYED: (
        401,
        "totp_replayed",
        "That code was used already; wait for the next one.",
    ),
}
MAX_CODE = 32


def routes(web: AdminWeb) -> list[BaseRoute]:
    async def login_page(request: Request) -> Response:
        return _login_form(web, request, error=None, status_code=200)

    async def login(request: Request) -> Response:
        form = await read_login(request)
        if not form.is_json:
            check_csrf(request, form.csrf)
        username = form.credentials.username
        if (refused := await _throttled(web, request, form.is_json, username)) is not None:
            return refused
        code = form.credentials.totp if form.is_json else None
        result = await LogIn(web.work)(username, form.credentials.password, code)
        if result.outcome is LoginOutcome.TOTP_REQUIRED and not form.is_json:
            return _code_form(web, request, web.tokens.challenge(username), None, 200)
        return _logged_in(web, request, form.is_json, username, result)

    async def login_code(request: Request) -> Response:
        form = await read_form(request)
        check_csrf(request, form.get("csrf"))
        username = web.tokens.challenged(form.get("challenge", ""))
        if username is None:
            return _login_form(web, request, "The login took too long; start again.", 401)
        if (refused := await _throttled(web, request, False, username)) is not None:
            return refused
        code = form.get("code", "")[:MAX_CODE]
        result = await LogIn(web.work)(username, None, code)
        if result.outcome in (LoginOutcome.TOTP_REJECTED, LoginOutcome.TOTP_REPLAYED):
            detail = REFUSALS[result.outcome][2]
            return _code_form(web, request, form["challenge"], detail, 401)
        return _logged_in(web, request, False, username, result)

    async def logout(request: Request) -> Response:
        if request.state.session_via == "cookie":
            check_csrf(request, (await read_form(request)).get("csrf"))
        await LogOut(web.work)(request.state.session)
        response = RedirectResponse(LOGIN_PATH, status_code=303)
        clear_session_cookie(response)
        return response

    return [
        Route("/login", login_page, methods=["GET"]),
        ApiRoute(
            "/login",
            login,
            method="POST",
            summary="Log in: JSON {username, password, totp} answers {token} (a Bearer "
            "session); a browser's form gets the session cookie and a redirect home. `totp` "
            "is the authenticator app's code, or a recovery code: needed once the account "
            "has a second factor (`totp_required`).",
            success="The session token.",
            response=SessionToken,
            others={"303": ("A browser's form: the session cookie, and a redirect home.", None)},
            body=LoginRequest,
            security=PUBLIC,
            refusals={
                "401": "Wrong credentials or code (`invalid_credentials`, `totp_required`, "
                "`invalid_totp`).",
                "423": "Too many failed logins (`locked`).",
                "429": "Too many logins (`too_many_logins`, Retry-After).",
            },
        ),
        Route("/login/totp", login_code, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
    ]


class SessionToken(BaseModel):
    token: str  # the Bearer session: send it as `Authorization: Bearer <token>`


def _logged_in(
    web: AdminWeb, request: Request, is_json: bool, username: str, result: Login
) -> Response:
    """The session of an accepted login, or the refusal."""
    if result.outcome is not LoginOutcome.ACCEPTED:
        status, code, detail = REFUSALS[result.outcome]
        if is_json:
            raise HttpError(status, code, detail)
        return _login_form(web, request, error=detail, status_code=status)
    token = web.tokens.issue(username, result.generation)
    if is_json:
        return JSONResponse(SessionToken(token=token).model_dump())
    response = RedirectResponse(HOME_PATH, status_code=303)
    set_session_cookie(response, request, token, web.tokens.ttl)
    return response


async def _throttled(
    web: AdminWeb, request: Request, is_json: bool, username: str
) -> Response | None:
    """429 with Retry-After when the client or the username is over its login limit."""
    client = request.client.host if request.client else "unknown"
    wait = await ThrottleLogin(web.work, web.limits)(username, client)
    if wait is None:
        return None
    seconds = str(max(1, math.ceil(wait.total_seconds())))
    refusal = HttpError(429, "too_many_logins", f"Too many logins; retry in {seconds} s.")
    if is_json:
        answer: Response = error_response(refusal)
    else:
        answer = _login_form(web, request, error=refusal.detail, status_code=429)
    answer.headers["Retry-After"] = seconds
    return answer


def _login_form(web: AdminWeb, request: Request, error: str | None, status_code: int) -> Response:
    return _form(web, request, {"error": error, "challenge": None}, status_code)


def _code_form(
    web: AdminWeb, request: Request, challenge: str, error: str | None, status_code: int
) -> Response:
    return _form(web, request, {"error": error, "challenge": challenge}, status_code)


def _form(
    web: AdminWeb, request: Request, values: dict[str, str | None], status_code: int
) -> Response:
    token = csrf_token(request)
    context = {**values, "csrf": token, "admin": None}
    response = web.render("login.html", context, status_code=status_code)
    set_csrf_cookie(response, request, token)
    return response
