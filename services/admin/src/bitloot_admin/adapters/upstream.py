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
from pydantic import BaseModel, JsonValue, RootModel, ValidationError

from bitloot_contracts.topics import DELIVERY, FULFILLMENT, KINGUIN_GATEWAY, PAYMENTS
from bitloot_runtime.idempotency import IDEMPOTENCY_HEADER, current_key

logger = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)
SERVICES = (PAYMENTS, KINGUIN_GATEWAY, FULFILLMENT, DELIVERY)
QueryParams = Mapping[str, str | list[str]]
# Names the acting admin on every admin action, so each service can audit who did it.
ACTOR_HEADER = "X-Bitloot-Actor"


@dataclass(frozen=True)
class Unavailable:
    """A service that could not answer; shown as ``{"service": ..., "error": "unavailable"}``."""

    service: str
    error: str = "unavailable"


class Document(RootModel[dict[str, JsonValue]]):
    """Any JSON object a service answers, shown as it is."""


@dataclass(frozen=True)
class Reply:
    """What a service answered to an action (or a probe): its status, its JSON body, and
    for a probe its text."""

    status: int
    body: dict[str, JsonValue]
    text: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


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
        self,
        service: str,
        path: str,
        model: type[ModelT],
        params: QueryParams | None = None,
        actor: str | None = None,
    ) -> ModelT | Unavailable | NotFound:
        """`GET <service><path>` validated as `model`; never raises for the service's sake.
        `actor` names the admin to the service when the read is itself an admin action."""
        response = await self._send("GET", service, path, params, actor)
        if isinstance(response, Unavailable):
            return response
        if response.status_code == 404:
            return NotFound(service)
        if response.status_code != 200:
            _log_status(service, path, response.status_code)
            return Unavailable(service)
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            logger.warning(
                "upstream answer not understood",
                extra={"upstream": service, "path": path, "errors": exc.error_count()},
            )
            return Unavailable(service)

    async def get_document(
        self,
        service: str,
        path: str,
        params: QueryParams | None = None,
        actor: str | None = None,
    ) -> dict[str, JsonValue] | Unavailable | NotFound:
        """`GET <service><path>`: any JSON object, as the service sent it."""
        answer = await self.get(service, path, Document, params, actor)
        return answer.root if isinstance(answer, Document) else answer

    async def post(
        self,
        service: str,
        path: str,
        actor: str,
        body: Mapping[str, JsonValue] | None = None,
    ) -> Reply | Unavailable:
        """`POST <service><path>` on behalf of `actor`, with `body` as JSON if given (else
        no body) and the idempotency key of the admin's action being served (so that the
        service acts once however often it is asked): the service's status and JSON body
        (a refusal such as 409 is an answer, not a failure); 5xx and no answer are
        `Unavailable`."""
        response = await self._send("POST", service, path, None, actor, body, current_key.get())
        if isinstance(response, Unavailable):
            return response
        if response.status_code >= 500:
            _log_status(service, path, response.status_code)
            return Unavailable(service)
        try:
            body = Document.model_validate_json(response.content or b"{}").root
        except ValidationError:
            body = {}
        return Reply(response.status_code, body)

    async def probe(self, service: str, path: str) -> Reply | Unavailable:
        """`GET <service><path>` as text (``/readyz``, ``/metrics``), whatever the status."""
        response = await self._send("GET", service, path, None, None)
        if isinstance(response, Unavailable):
            return response
        return Reply(response.status_code, {}, response.text)

    async def _send(
        self,
        method: str,
        service: str,
        path: str,
        params: QueryParams | None,
        actor: str | None,
        body: Mapping[str, JsonValue] | None = None,
        key: str | None = None,
    ) -> httpx.Response | Unavailable:
        if self._client is None:
            raise RuntimeError("UpstreamClient.start() was not called (the app's lifespan).")
        headers = {ACTOR_HEADER: actor} if actor else {}
        if key is not None:
            headers[IDEMPOTENCY_HEADER] = key
        try:
            return await self._client.request(
                method,
                self._base_urls[service] + path,
                params=params,
                headers=headers,
                json=body,
            )
        except httpx.HTTPError as exc:
            logger.warning(
                "upstream call failed",
                extra={"upstream": service, "path": path, "error": type(exc).__name__},
            )
            return Unavailable(service)


def _log_status(service: str, path: str, status: int) -> None:
    logger.warning(
        "upstream answered an error", extra={"upstream": service, "path": path, "status": status}
    )
