"""The S3 object store against a real S3 endpoint (moto's server)."""

import asyncio
from contextlib import aclosing
from uuid import uuid4

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bitloot_delivery.adapters.object_store import ObjectNotFound, S3ObjectStore
from bitloot_testing.bus import eventually
from bitloot_testing.net import free_port
from bitloot_testing.s3 import S3Server


def store(
    s3_server: S3Server, bucket: str, *, create_bucket: bool = False, endpoint_url: str = ""
) -> aclosing[S3ObjectStore]:
    """A store on `bucket` (through `endpoint_url`, if given), closed after the block."""
    return aclosing(
        S3ObjectStore(
            s3_server.session(),
            bucket=bucket,
            endpoint_url=endpoint_url or s3_server.endpoint_url,
            region=s3_server.region,
            create_bucket=create_bucket,
        )
    )


async def test_an_object_put_is_got_back_and_a_put_overwrites(
    s3_server: S3Server, s3_bucket: str
) -> None:
    async with store(s3_server, s3_bucket) as objects:
        await objects.put("orders/1/keys.bin", b"first")
        await objects.put("orders/1/keys.bin", b"second")
        assert await objects.get("orders/1/keys.bin") == b"second"


async def test_a_missing_object_is_reported_as_such(s3_server: S3Server, s3_bucket: str) -> None:
    async with store(s3_server, s3_bucket) as objects:
        with pytest.raises(ObjectNotFound):
            await objects.get("orders/none/keys.bin")


async def test_the_bucket_is_created_when_configured_and_found_when_it_exists(
    s3_server: S3Server,
) -> None:
    bucket = f"bitloot-test-{uuid4().hex[:12]}"
    for _ in range(2):  # the second instance finds the bucket the first created
        async with store(s3_server, bucket, create_bucket=True) as objects:
            await objects.put("k", b"v")
            assert await objects.get("k") == b"v"


class FlakyProxy:
    """An HTTP proxy in front of the S3 server that answers the first `failures` PUTs
    with 503 SlowDown, as S3 and R2 do under load, and forwards everything else."""

    def __init__(self, upstream: str, failures: int) -> None:
        self.upstream = upstream
        self.failures = failures
        self.puts = 0
        self.app = Starlette(routes=[Route("/{path:path}", self.forward, methods=METHODS)])

    async def forward(self, request: Request) -> Response:
        if request.method == "PUT":
            self.puts += 1
            if self.puts <= self.failures:
                return Response(SLOW_DOWN, status_code=503, media_type="application/xml")
        dropped = {"host", "content-length", "transfer-encoding", "expect"}
        headers = {k: v for k, v in request.headers.items() if k.lower() not in dropped}
        async with httpx.AsyncClient() as client:
            answer = await client.request(
                request.method,
                f"{self.upstream}{request.url.path}",
                params=str(request.query_params),
                headers=headers,
                content=await request.body(),
            )
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_HEADERS}
        return Response(answer.content, status_code=answer.status_code, headers=kept)


METHODS = ["GET", "PUT", "HEAD", "DELETE", "POST"]
HOP_HEADERS = {"content-length", "transfer-encoding", "content-encoding", "connection"}
SLOW_DOWN = (
    b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
)


async def test_a_put_refused_with_slow_down_is_retried_until_it_lands(
    s3_server: S3Server, s3_bucket: str
) -> None:
    proxy = FlakyProxy(s3_server.endpoint_url, failures=2)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(proxy.app, port=port, log_config=None))
    serving = asyncio.create_task(server.serve())
    try:
        async with store(s3_server, s3_bucket, endpoint_url=f"http://127.0.0.1:{port}") as objects:
            assert await eventually(lambda: _started(server))
            await objects.put("orders/2/keys.bin", b"ciphertext")
    finally:
        server.should_exit = True
        await serving
    assert proxy.puts == 3
    async with store(s3_server, s3_bucket) as direct:
        assert await direct.get("orders/2/keys.bin") == b"ciphertext"


async def _started(server: uvicorn.Server) -> bool:
    return server.started
