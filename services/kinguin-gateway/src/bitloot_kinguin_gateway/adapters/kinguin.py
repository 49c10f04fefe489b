"""Kinguin's eCommerce API: placing an order, finding it again, reading its keys.

Every call carries `X-Api-Key`. A 429 or a 5xx on a call that is safe to repeat (a read)
is retried a few times with backoff, honouring `Retry-After`; then `TransientError`.
Placing an order is repeated only after a 429 (Kinguin refused it outright): after a
timeout or a 5xx the order may exist, so the caller must look it up by external id first.
Kinguin's refusals (`{kind, status, title, detail}`) become `PermanentError`s.
"""

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from bitloot_runtime.errors import PermanentError, TransientError

logger = logging.getLogger(__name__)

KEYS_PAGE_SIZE = 25
# Kinguin's error kinds that retrying cannot fix; anything else is reported as is.
PERMANENT_KINDS = (
    "ProductUnavailable",
    "InsufficientBalance",
    "OrderFailed",
    "ConstraintViolation",
)
_MAX_RETRY_AFTER = 30.0


@dataclass(frozen=True)
class KinguinProduct:
    """One line of an order to place: `qty` keys of `product_id` at most `price` each."""

    product_id: str
    qty: int
    price: Decimal


@dataclass(frozen=True)
class KinguinOrder:
    order_id: str
    external_id: str | None
    status: str
    updated_at: datetime | None


@dataclass(frozen=True)
class KinguinKey:
    """A key as Kinguin issued it. `serial` is the secret: never log it."""

    serial: str
    type: str
    product_id: str

    def __repr__(self) -> str:
        return f"KinguinKey(type={self.type!r}, product_id={self.product_id!r})"


class KinguinRefused(PermanentError):
    """Kinguin refused the call for good (`code` is its error kind in snake_case)."""


def snake_case(kind: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()


class KinguinClient:
    """Calls to Kinguin through `client` (built, and closed, by the bootstrap)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        client: httpx.AsyncClient,
        *,
        attempts: int = 3,
        backoff: float = 0.5,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._headers = {"X-Api-Key": api_key, "Accept": "application/json"}
        self._client = client
        self._attempts = attempts
        self._backoff = backoff

    async def place_order(
        self, order_external_id: str, products: Sequence[KinguinProduct]
    ) -> KinguinOrder:
        """Buy `products` as one Kinguin order tagged with our order id."""
        body = {
            "products": [
                {"productId": p.product_id, "qty": p.qty, "price": float(p.price)} for p in products
            ],
            "orderExternalId": order_external_id,
        }
        document = await self._call("POST", "/v2/order", json=body, repeatable=False)
        return _order(document)

    async def find_by_external_id(self, order_external_id: str) -> KinguinOrder | None:
        """The order tagged with our order id, or None if Kinguin has none."""
        document = await self._call(
            "GET", "/v1/order", params={"orderExternalId": order_external_id}
        )
        results = document.get("results") if isinstance(document, dict) else None
        if not results:
            return None
        return _order(results[0])

    async def get_order(self, order_id: str) -> KinguinOrder:
        return _order(await self._call("GET", f"/v1/order/{order_id}"))

    async def get_keys(self, order_id: str) -> list["KinguinKey"]:
        """Every key of the order, page by page until a short page."""
        keys: list[KinguinKey] = []
        page = 1
        while True:
            params = {"page": str(page), "limit": str(KEYS_PAGE_SIZE)}
            document = await self._call("GET", f"/v2/order/{order_id}/keys", params=params)
            if not isinstance(document, list):
                raise TransientError("Kinguin answered keys with something other than a list.")
            keys.extend(_key(item) for item in document)
            if len(document) < KEYS_PAGE_SIZE:
                return keys
            page += 1

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        json: object = None,
        repeatable: bool = True,
    ) -> Any:
        for attempt in range(1, self._attempts + 1):
            try:
                response = await self._client.request(
                    method, self._base_url + path, params=params, json=json, headers=self._headers
                )
            except httpx.HTTPError as exc:
                raise TransientError(f"Kinguin {method} {path} failed: {exc!r}") from exc
            retry = response.status_code == 429 or (response.status_code >= 500 and repeatable)
            if not retry or attempt == self._attempts:
                return _result(method, path, response)
            delay = _retry_after(response) or self._backoff * 2 ** (attempt - 1)
            logger.warning(
                "kinguin busy; retrying",
                extra={"path": path, "status": response.status_code, "delay_s": delay},
            )
            await asyncio.sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")


def _result(method: str, path: str, response: httpx.Response) -> Any:
    status = response.status_code
    # 401/403: our API key is wrong or revoked, a configuration fault an operator fixes;
    # the message is retried and finally parked, never turned into a failed order.
    if status in (401, 403, 429) or status >= 500:
        raise TransientError(f"Kinguin {method} {path} answered {status}.")
    try:
        document = response.json()
    except ValueError:
        raise TransientError(f"Kinguin {method} {path} answered {status}, not JSON.") from None
    if status < 300:
        return document
    kind = document.get("kind") if isinstance(document, dict) else None
    if kind == "OrderNotCompleted":
        raise TransientError(f"Kinguin {method} {path}: the order is not completed yet.")
    detail = document.get("detail") or document.get("title") if isinstance(document, dict) else None
    reason = f"Kinguin refused {method} {path} ({status}): {detail or 'no detail'}"
    if kind in PERMANENT_KINDS:
        raise KinguinRefused(snake_case(kind), reason)
    if status == 404:
        raise KinguinRefused("kinguin_not_found", reason)
    raise KinguinRefused("kinguin_rejected", reason)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return min(max(float(value), 0.0), _MAX_RETRY_AFTER)
    except ValueError:
        return None


def _order(document: Any) -> KinguinOrder:
    try:
        return KinguinOrder(
            order_id=str(document["orderId"]),
            external_id=document.get("orderExternalId"),
            status=str(document["status"]),
            updated_at=_time(document.get("updatedAt")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise TransientError(f"Kinguin answered an order we cannot read: {exc!r}") from None


def _key(item: Any) -> KinguinKey:
    try:
        return KinguinKey(
            serial=str(item["serial"]), type=str(item["type"]), product_id=str(item["productId"])
        )
    except (KeyError, TypeError) as exc:
        raise TransientError(f"Kinguin answered a key we cannot read: {exc!r}") from None


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
