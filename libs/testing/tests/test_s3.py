"""moto's S3 server over real HTTP."""

from bitloot_testing.s3 import S3Server


async def test_s3_server_stores_and_returns_an_object(s3_server: S3Server, s3_bucket: str) -> None:
    async with s3_server.session().client("s3", endpoint_url=s3_server.endpoint_url) as s3:
        await s3.put_object(Bucket=s3_bucket, Key="orders/1", Body=b"ciphertext")
        stored = await s3.get_object(Bucket=s3_bucket, Key="orders/1")
        assert await stored["Body"].read() == b"ciphertext"


async def test_each_test_gets_an_empty_bucket_of_its_own(
    s3_server: S3Server, s3_bucket: str
) -> None:
    async with s3_server.session().client("s3", endpoint_url=s3_server.endpoint_url) as s3:
        listing = await s3.list_objects_v2(Bucket=s3_bucket)
        buckets = [bucket["Name"] for bucket in (await s3.list_buckets())["Buckets"]]
    assert listing["KeyCount"] == 0
    assert buckets.count(s3_bucket) == 1
