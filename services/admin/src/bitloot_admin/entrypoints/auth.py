"""Logging in and out: ``GET/POST /admin/login`` and ``POST /admin/logout``."""

import math

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bitloot_admin.domain.lockout import LoginOutcome
from bitloot_admin.entrypoints.context import AdminWeb
from bitloot_admin.entrypoints.pages_home import HOME_PATH
from bitloot_admin.entrypoints.params import LoginForm, read_form, read_login
from bitloot_admin.entrypoints.session import (
    LOGIN_PATH,
    check_csrf,
    clear_session_cookie,
    csrf_token,
    set_csrf_cookie,
    set_session_cookie,
)
from bitloot_admin.handlers import accounts
from bitloot_runtime.http import HttpError, error_response

REFUSALS = {
    LoginOutcome.REJECTED: (401, "invalid_credentials", "Wrong username or password."),
    LoginOutcome.LOCKED: (423, "locked", "Too many failed logins; try again later."),
}


def routes(web: AdminWeb) -> list[BaseRoute]:
    async def login_page(request: Request) -> Response:
        return _login_form(web, request, error=None, status_code=200)

    async def login(request: Request) -> Response:
        form = await read_login(request)
        if not form.is_json:
            check_csrf(request, form.csrf)
        username = form.credentials.username
        if (refused := await _throttled(web, request, form)) is not None:
            return refused
        outcome = await accounts.login(web.sessionmaker, username, form.credentials.password)
        if outcome is not LoginOutcome.ACCEPTED:
            status, code, detail = REFUSALS[outcome]
            if form.is_json:
                raise HttpError(status, code, detail)
            return _login_form(web, request, error=detail, status_code=status)
        token = web.tokens.issue(username)
        if form.is_json:
            return JSONResponse({"token": token})
        response = RedirectResponse(HOME_PATH, status_code=303)
        set_session_cookie(response, request, token, web.tokens.ttl)
        return response

    async def logout(request: Request) -> Response:
        if request.state.session_via == "cookie":
            check_csrf(request, (await read_form(request)).get("csrf"))
        await accounts.record(web.sessionmaker, request.state.admin, "logout")
        response = RedirectResponse(LOGIN_PATH, status_code=303)
        clear_session_cookie(response)
        return response

    return [
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
    ]


async def _throttled(web: AdminWeb, request: Request, form: LoginForm) -> Response | None:
    """429 with Retry-After when the client or the username is over its login limit."""
    client = request.client.host if request.client else "unknown"
    username = form.credentials.username
    wait = await accounts.throttle(web.sessionmaker, username, client, web.limits)
    if wait is None:
        return None
    seconds = str(max(1, math.ceil(wait.total_seconds())))
    refusal = HttpError(429, "too_many_logins", f"Too many logins; retry in {seconds} s.")
    if form.is_json:
        answer: Response = error_response(refusal)
    else:
        answer = _login_form(web, request, error=refusal.detail, status_code=429)
    answer.headers["Retry-After"] = seconds
    return answer


def _login_form(web: AdminWeb, request: Request, error: str | None, status_code: int) -> Response:
    token = csrf_token(request)
    response = web.render(
        "login.html", {"csrf": token, "error": error, "admin": None}, status_code=status_code
    )
    set_csrf_cookie(response, request, token)
    return response
