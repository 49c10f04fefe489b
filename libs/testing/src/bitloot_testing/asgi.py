"""Calling an ASGI app in process, as a test's HTTP client."""

from typing import Any

import httpx


def asgi_client(app: Any, base_url: str = "http://svc", **transport: Any) -> httpx.AsyncClient:
    """An httpx client whose requests `app` answers in this process (no server, no
    lifespan); `transport`: `httpx.ASGITransport`'s options (``raise_app_exceptions``,
    ``client``)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, **transport), base_url=base_url)
