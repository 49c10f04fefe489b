"""``POST /v1/auth`` and the ``Authorization: Bearer <JWT>`` the list of payments needs.

Documented: the dashboard email and password (case-sensitive) buy a JWT that expires in
5 minutes, required by "Get list of payments"; without it NOWPayments answers 401
``AUTH_REQUIRED`` "Authorization header is empty (Bearer JWTtoken is required)". The docs
are silent on wrong credentials and on an invalid or expired token: the sandbox answers
401 ``INVALID_CREDENTIALS`` and 401 ``INVALID_TOKEN`` / ``TOKEN_EXPIRED`` in NOWPayments'
error shape.
"""

import hmac
from functools import wraps

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bitloot_sandbox_nowpayments.endpoint import (
    Endpoint,
    error,
    guarded,
    json_body,
    required_text,
    sandbox_of,
)
from bitloot_sandbox_nowpayments.tokens import TokenProblem


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


@guarded(api_key=False)
async def authenticate(request: Request) -> Response:
    """``POST /v1/auth`` {"email", "password"}: ``{"token": "<JWT>"}``."""
    body = await json_body(request)
    email, password = required_text(body, "email"), required_text(body, "password")
    sandbox = sandbox_of(request)
    # Both compared, always: how long a refusal takes says nothing about which was wrong.
    right_email = _same(email, sandbox.config.email)
    if not (_same(password, sandbox.config.password) and right_email):
        return error(401, "INVALID_CREDENTIALS", "Invalid email or password")
    return JSONResponse({"token": sandbox.tokens.issue()})


def bearer(handler: Endpoint) -> Endpoint:
    """`handler` only for a request carrying a live JWT from ``POST /v1/auth``."""

    @wraps(handler)
    async def endpoint(request: Request) -> Response:
        header = request.headers.get("authorization", "").strip()
        if not header:
            return error(
                401,
                "AUTH_REQUIRED",
                "Authorization header is empty (Bearer JWTtoken is required)",
            )
        scheme, _, token = header.partition(" ")
        problem = (
            sandbox_of(request).tokens.check(token.strip())
            if scheme.lower() == "bearer"
            else TokenProblem.MALFORMED
        )
        if problem is TokenProblem.EXPIRED:
            return error(401, "TOKEN_EXPIRED", "JWT token has expired")
        if problem is TokenProblem.MALFORMED:
            return error(401, "INVALID_TOKEN", "Invalid JWT token")
        return await handler(request)

    return endpoint
