"""Calls to the other services' internal APIs, through one HTTP client.

A service that is down, slow, answers 5xx or answers something we cannot read yields
`Unavailable` instead of an exception: the admin shows what the others said and names
the missing service, it never fails as a whole because one service did.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from bitloot_contracts.topics import DELIVERY, FULFILLMENT, KINGUIN_GATEWAY, PAYMENTS

logger = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)
SERVICES = (PAYMENTS, KINGUIN_GATEWAY, FULFILLMENT, DELIVERY)
QueryParams = Mapping[str, str | list[str]]


@dataclass(frozen=True)
class Unavailable:
    """A service that could not answer; shown as ``{"service": ..., "error": "unavailable"}``."""

    service: str
    error: str = "unavailable"


@dataclass(frozen=True)
class NotFound:
    """The service answered 404: it does not know the thing asked for."""

    service: str


class UpstreamClient:
    """The admin's client of the four services: one `httpx.AsyncClient`, opened by
    `start` (in the app's lifespan) and closed by `close`."""

    def __init__(
        self,
        base_urls: Mapping[str, str],
        token: str,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        missing = set(SERVICES) - set(base_urls)
        if missing:
            raise ValueError(f"No base URL for {', '.join(sorted(missing))}.")
        self._base_urls = {name: url.rstrip("/") for name, url in base_urls.items()}
        self._token = token
        self._timeout = timeout
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self._client = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {self._token}"},
            timeout=self._timeout,
            transport=self._transport,
            follow_redirects=False,
        )

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def get(
        self, service: str, path: str, model: type[ModelT], params: QueryParams | None = None
    ) -> ModelT | Unavailable | NotFound:
        """`GET <service><path>` validated as `model`; never raises for the service's sake."""
        if self._client is None:
            raise RuntimeError("UpstreamClient.start() was not called (the app's lifespan).")
        url = self._base_urls[service] + path
        try:
            response = await self._client.get(url, params=params)
        except httpx.HTTPError as exc:
            logger.warning(
                "upstream call failed",
                extra={"upstream": service, "path": path, "error": type(exc).__name__},
            )
            return Unavailable(service)
        if response.status_code == 404:
            return NotFound(service)
        if response.status_code != 200:
            logger.warning(
                "upstream answered an error",
                extra={"upstream": service, "path": path, "status": response.status_code},
            )
            return Unavailable(service)
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            logger.warning(
                "upstream answer not understood",
                extra={"upstream": service, "path": path, "errors": exc.error_count()},
            )
            return Unavailable(service)
