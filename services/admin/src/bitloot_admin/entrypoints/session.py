"""Admin sessions: a signed token (JWT, EdDSA) in an HttpOnly cookie or a Bearer header,
a guard in front of everything under /admin, and the double-submit CSRF token of the
login and logout forms.

Session tokens are signed with an Ed25519 private key only the admin service holds, so
another service can accept an admin's token (fulfillment's live order status) with the
public key alone, and cannot forge one."""

import hmac
import secrets
from datetime import timedelta
from typing import Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection, Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bitloot_admin.entrypoints.confirm import SCRIPT_SRC
from bitloot_runtime.http import HttpError, error_response
from bitloot_runtime.tokens import AdminTokenSigner, AdminTokenVerifier, InvalidToken

SESSION_COOKIE: Final = "bitloot_admin"
CSRF_COOKIE: Final = "bitloot_admin_csrf"
COOKIE_PATH: Final = "/admin"
LOGIN_PATH: Final = "/admin/login"
OPENAPI_PATH: Final = "/admin/openapi.json"
API_PREFIX: Final = "/admin/api/"
SECURITY_HEADERS: Final = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": f"default-src 'none'; {SCRIPT_SRC}; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class SessionTokens:
    """Issues and checks session tokens: ``sub`` the admin, ``exp`` the end of the session."""

    def __init__(self, key_id: str, private_key: Ed25519PrivateKey, ttl: timedelta) -> None:
        self._signer = AdminTokenSigner(key_id, private_key, ttl)
        self._verifier = AdminTokenVerifier({key_id: private_key.public_key()})
        self.ttl = ttl

    def issue(self, username: str) -> str:
        return self._signer.issue(username)

    def username(self, token: str) -> str | None:
        """The admin a token names, or None if it is forged, malformed or expired."""
        try:
            return self._verifier.verify(token)
        except InvalidToken:
            return None


class AdminGuard:
    """Every /admin path but the login needs a session: the API answers 401, pages
    redirect to the login. Every /admin answer gets the security headers."""

    def __init__(self, app: ASGIApp, tokens: SessionTokens) -> None:
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope["path"])
        if path not in (LOGIN_PATH, OPENAPI_PATH):
            username, via = self._authenticate(HTTPConnection(scope))
            if username is None:
                await _refusal(path)(scope, receive, _secured(send))
                return
            scope.setdefault("state", {}).update(admin=username, session_via=via)
        await self.app(scope, receive, _secured(send))

    def _authenticate(self, connection: HTTPConnection) -> tuple[str | None, str]:
        scheme, _, bearer = connection.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and bearer:
            return self.tokens.username(bearer.strip()), "bearer"
        cookie = connection.cookies.get(SESSION_COOKIE)
        return (self.tokens.username(cookie) if cookie else None), "cookie"


def _refusal(path: str) -> Response:
    if path.startswith(API_PREFIX):
        return error_response(HttpError(401, "unauthorized", "Log in first."))
    return RedirectResponse(LOGIN_PATH, status_code=303)


def _secured(send: Send) -> Send:
    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            for name, value in SECURITY_HEADERS.items():
                headers.setdefault(name, value)
        await send(message)

    return send_with_headers


def set_session_cookie(response: Response, request: Request, token: str, ttl: timedelta) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(ttl.total_seconds()),
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")


def csrf_token(request: Request) -> str:
    """The browser's CSRF token (its cookie), or a new one to set with `set_csrf_cookie`."""
    current = request.cookies.get(CSRF_COOKIE, "")
    return current if len(current) == 43 else secrets.token_urlsafe(32)


def set_csrf_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        CSRF_COOKIE,
        token,
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def check_csrf(request: Request, submitted: str | None) -> None:
    """The form's hidden field must equal the cookie: another site can make a browser
    send the cookie, but cannot read it to put it in the form."""
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not submitted or not hmac.compare_digest(cookie, submitted):
        raise HttpError(403, "csrf_failed", "The form is stale; reload the page and retry.")
