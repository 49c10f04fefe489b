"""Admin sessions: a signed token (JWT, EdDSA) in an HttpOnly cookie or a Bearer header,
a guard in front of everything under /admin, and the double-submit CSRF token of the
login and logout forms.

Session tokens are signed with an Ed25519 private key only the admin service holds, so
another service can accept an admin's token (fulfillment's live order status) with the
public key alone, and cannot forge one."""

import hmac
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Final

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection, Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bitloot_admin.domain.accounts import refusal
from bitloot_admin.domain.roles import requires_totp
from bitloot_admin.entrypoints.access import PUBLIC, ROUTE_ROLES
from bitloot_admin.entrypoints.confirm import SCRIPT_SRC
from bitloot_admin.handlers.ports import AdminWork
from bitloot_admin.handlers.sessions import CheckSession
from bitloot_runtime.http import HttpError, error_response
from bitloot_runtime.tokens import (
    ADMIN_ISSUER,
    AdminSession,
    AdminTokenSigner,
    AdminTokenVerifier,
    InvalidToken,
)

SESSION_COOKIE: Final = "bitloot_admin"
CSRF_COOKIE: Final = "bitloot_admin_csrf"
COOKIE_PATH: Final = "/admin"
LOGIN_PATH: Final = "/admin/login"
# The paths the table of roles opens to anyone: no session is asked for them.
PUBLIC_PATHS: Final = frozenset(
    "/admin" + path for (_method, path), role in ROUTE_ROLES.items() if role == PUBLIC
)
API_PREFIX: Final = "/admin/api/"
SECURITY_HEADERS: Final = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": f"default-src 'none'; {SCRIPT_SRC}; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


CHALLENGE_AUDIENCE: Final = "bitloot:admin-totp"
CHALLENGE_TTL: Final = timedelta(minutes=5)


class SessionTokens:
    """Issues and checks session tokens: ``sub`` the admin, ``jti`` the session (which a
    logout revokes), ``gen`` the account's session generation, ``exp`` its end. Also the
    login's challenge: the proof, between the password and the code, that the password
    was right (another audience, so it opens no session)."""

    def __init__(self, key_id: str, private_key: Ed25519PrivateKey, ttl: timedelta) -> None:
        self._signer = AdminTokenSigner(key_id, private_key, ttl)
        self._verifier = AdminTokenVerifier({key_id: private_key.public_key()})
        self._key_id = key_id
        self._private_key = private_key
        self.ttl = ttl

    def issue(self, username: str, generation: int = 0) -> str:
        return self._signer.issue(username, generation=generation)

    def session(self, token: str) -> AdminSession | None:
        """The session a token carries, or None if it is forged, malformed or expired."""
        try:
            return self._verifier.session(token)
        except InvalidToken:
            return None

    def challenge(self, username: str) -> str:
        now = datetime.now(UTC)
        claims = {
            "iss": ADMIN_ISSUER,
            "aud": CHALLENGE_AUDIENCE,
            "sub": username,
            "iat": now,
            "exp": now + CHALLENGE_TTL,
        }
        headers = {"kid": self._key_id}
        return jwt.encode(claims, self._private_key, "EdDSA", headers=headers)

    def challenged(self, token: str) -> str | None:
        """The admin whose password a challenge proves, or None."""
        try:
            claims = jwt.decode(
                token,
                self._private_key.public_key(),
                algorithms=["EdDSA"],
                audience=CHALLENGE_AUDIENCE,
                issuer=ADMIN_ISSUER,
                options={"require": ["exp", "sub"]},
            )
        except jwt.PyJWTError:
            return None
        subject = claims.get("sub")
        return subject if isinstance(subject, str) and subject else None


class AdminGuard:
    """Every /admin path but the login needs a session that stands: validly signed, not
    logged out, of an admin that exists, is not disabled and has not changed its
    password since (one query per request). The API answers 401 with the reason, pages
    redirect to the login. Every /admin answer gets the security headers. Which role
    each route needs is `access`'s table."""

    def __init__(
        self,
        app: ASGIApp,
        tokens: SessionTokens,
        work: Callable[[], AdminWork],
    ) -> None:
        self.app = app
        self.tokens = tokens
        self.check = CheckSession(work)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope["path"])
        if path not in PUBLIC_PATHS:
            session, via = self._authenticate(HTTPConnection(scope))
            reason, role, needs_enrolment = "unauthorized", None, False
            if session is not None:
                found = await self.check(session)
                reason = refusal(session, found) or ""
                if found is not None and not reason:
                    role = found.role
                    needs_enrolment = requires_totp(found.role) and not found.has_totp
            if role is None or session is None:
                await _refusal(path, reason)(scope, receive, _secured(send))
                return
            scope.setdefault("state", {}).update(
                admin=session.username,
                role=role,
                session=session,
                session_via=via,
                needs_enrolment=needs_enrolment,
            )
        await self.app(scope, receive, _secured(send))

    def _authenticate(self, connection: HTTPConnection) -> tuple[AdminSession | None, str]:
        scheme, _, bearer = connection.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and bearer:
            return self.tokens.session(bearer.strip()), "bearer"
        cookie = connection.cookies.get(SESSION_COOKIE)
        return (self.tokens.session(cookie) if cookie else None), "cookie"


_REASONS: Final = {
    "unauthorized": "Log in first.",
    "admin_unknown": "The session names no admin; log in again.",
    "admin_disabled": "This admin account is disabled.",
    "session_revoked": "This session was logged out or its password changed; log in again.",
}


def _refusal(path: str, reason: str) -> Response:
    if path.startswith(API_PREFIX):
        return error_response(HttpError(401, reason, _REASONS[reason]))
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
