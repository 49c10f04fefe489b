"""S3 from moto's server mode: a real HTTP S3 endpoint on 127.0.0.1 for the run (the
tests' fixture, and the launcher's S3 through `moto_s3`)."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import aioboto3
import pytest
from moto.server import ThreadedMotoServer


@dataclass(frozen=True)
class S3Server:
    """Where and as whom to reach the run's S3 (moto accepts any credentials)."""

    endpoint_url: str
    access_key_id: str = "bitloot-test"
    secret_access_key: str = "bitloot-test-secret"  # noqa: S105 - moto accepts any key
    region: str = "us-east-1"

    def session(self) -> aioboto3.Session:
        """An aioboto3 session with these credentials; pass `endpoint_url` to its clients."""
        return aioboto3.Session(
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name=self.region,
        )


@contextmanager
def moto_s3(port: int = 0) -> Iterator[S3Server]:
    """moto's S3 server on 127.0.0.1:`port` until the block ends (0: a port the system
    chooses; asking afterwards, nothing else can take it between choice and bind)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()  # returns once the socket is bound and listening
    try:
        host, bound = server.get_host_and_port()
        yield S3Server(f"http://{host}:{bound}")
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server, started once per run on a port the system chose."""
    with moto_s3() as server:
        yield server


@pytest.fixture
async def s3_bucket(s3_server: S3Server) -> str:
    """A fresh, empty bucket for one test: its name."""
    name = f"bitloot-test-{uuid.uuid4().hex[:12]}"
    async with s3_server.session().client("s3", endpoint_url=s3_server.endpoint_url) as s3:
        await s3.create_bucket(Bucket=name)
    return name
