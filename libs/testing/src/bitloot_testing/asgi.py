"""Calling an ASGI app in process, as a test's HTTP client."""

import httpx
from starlette.types import ASGIApp


def asgi_client(
    app: ASGIApp,
    base_url: str = "http://svc",
    *,
    raise_app_exceptions: bool = True,
    client: tuple[str, int] = ("127.0.0.1", 123),
) -> httpx.AsyncClient:
    """An httpx client whose requests `app` answers in this process (no server, no
    lifespan); `raise_app_exceptions` and `client` (the peer the app sees) are
    `httpx.ASGITransport`'s."""
    transport = httpx.ASGITransport(
        app=app, raise_app_exceptions=raise_app_exceptions, client=client
    )
    return httpx.AsyncClient(transport=transport, base_url=base_url)
