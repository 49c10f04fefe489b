"""How the service's HTTP edge degrades when what it stands on fails for a moment: the
database cut away answers 503 with ``Retry-After`` (never a bare 500), and a client that
hangs up mid-body is one INFO line, not an ERROR traceback."""

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest
import uvicorn
from payments_support import ipn, send
from starlette.types import ASGIApp

from bitloot_payments.settings import Settings
from bitloot_testing.bus import eventually
from bitloot_testing.proxy import FaultyProxy, through_proxy


@pytest.fixture
async def database_proxy(database_url: str) -> AsyncIterator[FaultyProxy]:
    async with through_proxy(database_url) as (proxy, _url):
        yield proxy


@pytest.fixture
def settings(settings: Settings, database_proxy: FaultyProxy) -> Settings:
    """The service's settings, its database reached through `database_proxy`."""
    url = settings.database_url.replace("@127.0.0.1:5432/", f"@127.0.0.1:{database_proxy.port}/", 1)
    assert url != settings.database_url, "the test database is not at 127.0.0.1:5432"
    return settings.model_copy(update={"database_url": url})


async def test_a_request_while_the_database_is_cut_away_is_503_with_retry_after(
    client: httpx.AsyncClient, database_proxy: FaultyProxy
) -> None:
    assert (await send(client, ipn(str(uuid4()), "waiting"))).status_code == 200
    await database_proxy.down()
    answer = await send(client, ipn(str(uuid4()), "waiting"))
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "2"
    assert answer.json()["error"] == "temporarily_unavailable"
    await database_proxy.up()

    async def answered() -> bool:
        status = (await send(client, ipn(str(uuid4()), "waiting"))).status_code
        assert status in (200, 503)
        return status == 200

    assert await eventually(answered, timeout=10)


@contextlib.asynccontextmanager
async def served(app: ASGIApp) -> AsyncIterator[int]:
    """`app` on a local port by uvicorn configured as `bitloot_runtime.app.run` does (its
    records reach the root logger); the runtime is already started, so no lifespan."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, lifespan="off", log_config=None, access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        assert await eventually(lambda: _started(server), timeout=10)
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        await task
        sock.close()


async def _started(server: uvicorn.Server) -> bool:
    return server.started


async def test_a_client_hanging_up_mid_body_is_one_info_line_without_a_traceback(
    transport: httpx.ASGITransport, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with served(transport.app) as port:
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /payments/ipn HTTP/1.1\r\nHost: payments\r\n"
            b"Content-Type: application/json\r\nContent-Length: 4096\r\n\r\n"
            b'{"payment_status": "fini'
        )
        await writer.drain()
        await asyncio.sleep(0.2)  # the server is now waiting for the rest of the body
        writer.close()
        await writer.wait_closed()

        async def logged() -> bool:
            return any("disconnected" in r.getMessage() for r in caplog.records)

        assert await eventually(logged, timeout=5)
        await asyncio.sleep(0.3)  # anything else the disconnect causes is logged by now
    lines = [r for r in caplog.records if "disconnect" in r.getMessage().lower()]
    assert [(r.levelname, getattr(r, "reason", None)) for r in lines] == [
        ("INFO", "client_disconnect")
    ]
    loud = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in loud] == []
