"""The object store holding each order's encrypted keys: S3 through aioboto3 (Cloudflare
R2 in production, MinIO or moto elsewhere), signed with SigV4.

Cloudflare R2: ``DELIVERY_S3_ENDPOINT_URL=https://<account id>.r2.cloudflarestorage.com``,
``DELIVERY_S3_REGION=auto``, an R2 API token's access key id and secret as
``DELIVERY_S3_ACCESS_KEY_ID`` / ``DELIVERY_S3_SECRET_ACCESS_KEY``; path-style addressing
and SigV4 (both set here) are what R2 expects; presigned URLs last at most 7 days.

Transient failures (connection errors, throttling, 5xx) are retried by botocore's
"standard" retry mode, with jittered exponential backoff, up to `MAX_ATTEMPTS` tries per
call; whatever still fails reaches the caller (for keys.delivered: the bus's retries).

Only ciphertext is ever put here; the data key that opens it is in the database, wrapped.
The client is opened on first use (or by `hold_open` at start-up) and closed when
`hold_open`, run as one of the runtime's background loops, is cancelled at stop.
"""

import asyncio
import logging
from contextlib import AsyncExitStack
from typing import Any

import aioboto3
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import ClientError  # type: ignore[import-untyped]

from bitloot_delivery.settings import Settings
from bitloot_runtime.telemetry import child_span

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
MAX_PRESIGN_SECONDS = 7 * 24 * 3600


# What an S3 span says: the system, never the bucket's object key (an order's).
_S3 = {"rpc.system": "aws-api", "rpc.service": "S3"}


class ObjectNotFound(Exception):
    """No object under the key asked for."""


class S3ObjectStore:
    """`put` and `get` whole objects in one bucket."""

    def __init__(
        self,
        session: aioboto3.Session,
        *,
        bucket: str,
        endpoint_url: str | None,
        region: str,
        create_bucket: bool = False,
    ) -> None:
        self._session = session
        self._bucket = bucket
        self._endpoint_url = endpoint_url
        self._region = region
        self._create_bucket = create_bucket
        self._stack: AsyncExitStack | None = None
        # aioboto3 ships no type information: the client is dynamically generated.
        self._client: Any = None
        self._lock = asyncio.Lock()

    async def put(self, key: str, body: bytes) -> None:
        client = await self._open()
        with child_span("s3 PutObject", _S3):
            await client.put_object(Bucket=self._bucket, Key=key, Body=body)

    async def delete(self, key: str) -> None:
        """Delete the object; deleting one that is not there is not an error."""
        client = await self._open()
        with child_span("s3 DeleteObject", _S3):
            await client.delete_object(Bucket=self._bucket, Key=key)

    async def presigned_get(self, key: str, ttl_seconds: int) -> str:
        """A URL that GETs the object, without credentials, for `ttl_seconds`."""
        if not 1 <= ttl_seconds <= MAX_PRESIGN_SECONDS:
            raise ValueError(f"Presign TTL {ttl_seconds} s is not within 1..{MAX_PRESIGN_SECONDS}.")
        client = await self._open()
        url: str = await client.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=ttl_seconds
        )
        return url

    async def get(self, key: str) -> bytes:
        client = await self._open()
        with child_span("s3 GetObject", _S3):
            try:
                response = await client.get_object(Bucket=self._bucket, Key=key)
            except ClientError as exc:
                if _error_code(exc) in {"NoSuchKey", "404"}:
                    raise ObjectNotFound(key) from None
                raise
            async with response["Body"] as stream:
                body: bytes = await stream.read()
        return body

    async def hold_open(self) -> None:
        """Open the client (and create the bucket if configured) now, keep it until
        cancelled, then close it: run as a background loop of the service."""
        try:
            await self._open()
            await asyncio.Event().wait()
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        async with self._lock:
            if self._stack is not None:
                await self._stack.aclose()
            self._stack, self._client = None, None

    async def _open(self) -> Any:
        async with self._lock:
            if self._client is None:
                stack = AsyncExitStack()
                config = Config(
                    signature_version="s3v4",
                    s3={"addressing_style": "path"},
                    retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
                    # Checksums only where S3 requires them (what R2 and MinIO expect);
                    # the ciphertext is authenticated (AES-GCM) whatever the transport.
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                    # Our own bucket, key and bytes: botocore's check of each call's
                    # parameters costs a tenth of a put.
                    parameter_validation=False,
                )
                self._client = await stack.enter_async_context(
                    self._session.client(
                        "s3",
                        endpoint_url=self._endpoint_url,
                        region_name=self._region,
                        config=config,
                    )
                )
                self._stack = stack
                if self._create_bucket:
                    await self._ensure_bucket()
            return self._client

    async def _ensure_bucket(self) -> None:
        try:
            await self._client.head_bucket(Bucket=self._bucket)
            return
        except ClientError:
            pass  # missing (or not visible yet): create it
        try:
            await self._client.create_bucket(Bucket=self._bucket)
        except ClientError as exc:
            # Several instances may start at once: one creates, the others find it there.
            if _error_code(exc) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise
            return
        logger.info("bucket created", extra={"bucket": self._bucket})


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def object_store(settings: Settings) -> S3ObjectStore:
    """The object store `settings` name (opened on first use, or by `hold_open`)."""
    session = aioboto3.Session(
        aws_access_key_id=settings.s3_access_key_id,
        aws_secret_access_key=settings.s3_secret_access_key.get_secret_value(),
        region_name=settings.s3_region,
    )
    return S3ObjectStore(
        session,
        bucket=settings.s3_bucket,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        create_bucket=settings.s3_create_bucket,
    )
