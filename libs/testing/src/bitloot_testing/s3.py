"""S3 from moto's server mode: a real HTTP S3 endpoint on 127.0.0.1 for the run."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import aioboto3
import pytest
from moto.server import ThreadedMotoServer

from bitloot_testing.net import free_port, wait_for_tcp


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key_id: str = "bitloot-test"
    secret_access_key: str = "bitloot-test-secret"  # noqa: S105 - moto accepts any key
    region: str = "us-east-1"

    def session(self) -> aioboto3.Session:
        return aioboto3.Session(
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name=self.region,
        )


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server, started once per run."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        wait_for_tcp("127.0.0.1", port)
        yield S3Server(f"http://127.0.0.1:{port}")
    finally:
        server.stop()


@pytest.fixture
async def s3_bucket(s3_server: S3Server) -> str:
    """A fresh, empty bucket for one test."""
    name = f"bitloot-test-{uuid.uuid4().hex[:12]}"
    async with s3_server.session().client("s3", endpoint_url=s3_server.endpoint_url) as s3:
        await s3.create_bucket(Bucket=name)
    return name
