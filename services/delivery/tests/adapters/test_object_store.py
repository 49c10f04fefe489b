"""The S3 object store against a real S3 endpoint (moto's server)."""

from uuid import uuid4

import pytest

from bitloot_delivery.adapters.object_store import ObjectNotFound, S3ObjectStore
from bitloot_testing.s3 import S3Server


def store(s3_server: S3Server, bucket: str, *, create_bucket: bool = False) -> S3ObjectStore:
    return S3ObjectStore(
        s3_server.session(),
        bucket=bucket,
        endpoint_url=s3_server.endpoint_url,
        region=s3_server.region,
        create_bucket=create_bucket,
    )


async def test_an_object_put_is_got_back_and_a_put_overwrites(
    s3_server: S3Server, s3_bucket: str
) -> None:
    objects = store(s3_server, s3_bucket)
    try:
        await objects.put("orders/1/keys.bin", b"first")
        await objects.put("orders/1/keys.bin", b"second")
        assert await objects.get("orders/1/keys.bin") == b"second"
    finally:
        await objects.aclose()


async def test_a_missing_object_is_reported_as_such(s3_server: S3Server, s3_bucket: str) -> None:
    objects = store(s3_server, s3_bucket)
    try:
        with pytest.raises(ObjectNotFound):
            await objects.get("orders/none/keys.bin")
    finally:
        await objects.aclose()


async def test_the_bucket_is_created_when_configured_and_found_when_it_exists(
    s3_server: S3Server,
) -> None:
    bucket = f"bitloot-test-{uuid4().hex[:12]}"
    for _ in range(2):  # the second instance finds the bucket the first created
        objects = store(s3_server, bucket, create_bucket=True)
        try:
            await objects.put("k", b"v")
            assert await objects.get("k") == b"v"
        finally:
            await objects.aclose()
