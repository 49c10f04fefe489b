"""Kinguin's eCommerce API: products, placing an order, finding it again, reading its keys.

Every call carries `X-Api-Key` and first takes a slot from the rate limiter (shared by
every replica: `rate_limit`). A 429 or a 5xx on a call that is safe to repeat (a read) is
retried a few times with backoff, honouring `Retry-After`; then `KinguinBusy`
(transient). A 429 also holds every replica back for that delay (the limiter's
`throttled`). Placing an order is repeated only after a 429 (Kinguin refused it
outright): after a timeout or a 5xx the order may exist, so the caller must look it up by
external id first. A slot may take long (30 s through a database outage): the caller of
`place_order` passes `before_send`, run after each slot and right before the POST, to
prove it may still buy. A call that is never repeated is dropped after `deadline`
seconds in all, so its caller knows how long one can be under way. What Kinguin's
refusals mean is decided in `kinguin_errors`.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from bitloot_kinguin_gateway.adapters.kinguin_errors import KinguinBusy, result
from bitloot_kinguin_gateway.adapters.rate_limit import Gcra, Limiter, LocalLimiter, default_burst
from bitloot_runtime.errors import TransientError
from bitloot_runtime.outbound import operation

logger = logging.getLogger(__name__)

KEYS_PAGE_SIZE = 25


@dataclass(frozen=True)
class KinguinProduct:
    """One line of an order to place: `qty` keys of `product_id` at most `price` each."""

    product_id: str
    qty: int
    price: Decimal


@dataclass(frozen=True)
class KinguinProductInfo:
    """A product as Kinguin sells it now: the cheapest offer's `price` (EUR), `qty` keys
    at that price, and whether it is a preorder (released on `release_date`); `updated_at`
    is Kinguin's last change to it, when it says."""

    product_id: str
    price: Decimal
    qty: int
    is_preorder: bool
    release_date: str | None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class KinguinKeyStatus:
    """One key of an order line as the Order Object lists it: its id and Key Status
    (``PENDING``, ``PROCESSING``, ``DELIVERED``, ``RETURNED``, ``REFUNDED``, ``CANCELED``)."""

    id: str
    status: str


@dataclass(frozen=True)
class KinguinOrderLine:
    """One product of an order: `qty` keys of `product_id` at `price` each."""

    product_id: str
    kinguin_id: int | None
    offer_id: str | None
    qty: int
    price: Decimal
    is_preorder: bool
    release_date: str | None
    keys: tuple[KinguinKeyStatus, ...]


@dataclass(frozen=True)
class KinguinOrder:
    """An order as Kinguin's Order Object describes it (api/order/v1/README.md).

    The Order Object has no ``updatedAt`` (only webhooks carry one): `updated_at` is None
    for orders read from the API. A preorder (`is_preorder`) stays ``processing`` until
    its keys are delivered after `preorder_release_date`.
    """

    order_id: str
    external_id: str | None
    status: str
    updated_at: datetime | None = None
    is_preorder: bool = False
    preorder_release_date: date | None = None
    total_price: Decimal | None = None
    payment_price: Decimal | None = None
    created_at: datetime | None = None
    lines: tuple[KinguinOrderLine, ...] = ()


@dataclass(frozen=True)
class KinguinKey:
    """A key as Kinguin issued it: `type` is ``text/plain`` or an image type whose
    `serial` is base64. `serial` is the secret: never log it."""

    serial: str
    type: str
    product_id: str
    id: str | None = None
    offer_id: str | None = None

    def __repr__(self) -> str:
        return f"KinguinKey(id={self.id!r}, type={self.type!r}, product_id={self.product_id!r})"


class KinguinClient:
    """Calls to Kinguin through `client` (built, and closed, by the bootstrap)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        client: httpx.AsyncClient,
        *,
        limiter: Limiter | None = None,
        attempts: int = 3,
        backoff: float = 0.5,
        deadline: float = 15.0,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._headers = {"X-Api-Key": api_key, "Accept": "application/json"}
        self._client = client
        self._limiter = limiter or LocalLimiter(Gcra(2000, default_burst(2000)))
        self._attempts = attempts
        self._backoff = backoff
        self._deadline = deadline

    async def product(self, product_id: str) -> KinguinProductInfo:
        """What Kinguin sells `product_id` (its string id) for now, from
        `GET /v2/products/{productId}` (v1 takes the integer `kinguinId` instead)."""
        document = await self._call("GET", f"/v2/products/{product_id}", "get_product")
        return _product(product_id, document)

    async def product_price(self, product_id: str) -> Decimal:
        """The product's current price in EUR (its cheapest offer)."""
        return (await self.product(product_id)).price

    async def balance(self) -> Decimal:
        """The account's balance in EUR, from `GET /v1/balance`."""
        document = await self._call("GET", "/v1/balance", "get_balance")
        try:
            value = Decimal(str(document["balance"]))
        except (KeyError, TypeError, InvalidOperation):
            raise TransientError("Kinguin answered the balance without a number.") from None
        if not value.is_finite():
            raise TransientError(f"Kinguin answered a balance of {value}.")
        return value

    async def place_order(
        self,
        order_external_id: str,
        products: Sequence[KinguinProduct],
        *,
        before_send: Callable[[], Awaitable[None]] | None = None,
    ) -> KinguinOrder:
        """Buy `products` as one Kinguin order tagged with our order id; Kinguin refuses
        to charge more than each product's `price`. `before_send` runs after the rate
        limiter's slot, right before each POST; if it raises, nothing is sent."""
        body = {
            "products": [
                {"productId": p.product_id, "qty": p.qty, "price": float(p.price)} for p in products
            ],
            "orderExternalId": order_external_id,
        }
        document = await self._call(
            "POST", "/v2/order", "create_order", json=body, repeatable=False, before=before_send
        )
        return _order(document)

    async def find_by_external_id(self, order_external_id: str) -> KinguinOrder | None:
        """The order tagged with our order id, or None if Kinguin has none."""
        document = await self._call(
            "GET", "/v1/order", "find_order", params={"orderExternalId": order_external_id}
        )
        results = document.get("results") if isinstance(document, dict) else None
        if not results:
            return None
        return _order(results[0])

    async def get_order(self, order_id: str) -> KinguinOrder:
        return _order(await self._call("GET", f"/v1/order/{order_id}", "get_order"))

    async def return_keys(self, order_id: str) -> list[KinguinKeyStatus]:
        """Ask Kinguin to take back the order's unclaimed keys (`POST
        /v2/order/{orderId}/keys/return`, api/order/v2/README.md): the keys it took, as
        they were when asked. Sent once per order, never repeated here (a 5xx or a
        timeout may hide a return carried out): the caller reads the order instead."""
        document = await self._call(
            "POST", f"/v2/order/{order_id}/keys/return", "return_keys", repeatable=False
        )
        if not isinstance(document, list):
            raise TransientError("Kinguin answered a key return with something other than a list.")
        try:
            return [KinguinKeyStatus(str(item["id"]), str(item["status"])) for item in document]
        except (KeyError, TypeError) as exc:
            raise TransientError(f"Kinguin answered a key return we cannot read: {exc!r}") from None

    async def get_keys(self, order_id: str) -> list["KinguinKey"]:
        """Every key of the order, page by page until a short page."""
        keys: list[KinguinKey] = []
        page = 1
        while True:
            params = {"page": str(page), "limit": str(KEYS_PAGE_SIZE)}
            document = await self._call(
                "GET", f"/v2/order/{order_id}/keys", "get_keys", params=params
            )
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
        name: str,
        *,
        params: dict[str, str] | None = None,
        json: object = None,
        repeatable: bool = True,
        before: Callable[[], Awaitable[None]] | None = None,
    ) -> Any:
        for attempt in range(1, self._attempts + 1):
            await self._limiter.acquire()
            # The deadline counts `before` too (it may stamp when the call was sent), but
            # never cancels it: a unit of work cancelled mid-commit can leave its pooled
            # connection in a transaction that a later unit then "commits" into nothing
            # (chaos lost three reservations that way).
            ends = asyncio.get_running_loop().time() + self._deadline
            if before is not None:
                await before()
            try:
                left = ends - asyncio.get_running_loop().time()
                if not repeatable and left <= 0:
                    raise TimeoutError("no time left for the call after its check")
                async with asyncio.timeout(None if repeatable else left):
                    response = await self._client.request(
                        method,
                        self._base_url + path,
                        params=params,
                        json=json,
                        headers=self._headers,
                        extensions=operation(name),
                    )
            except (httpx.HTTPError, TimeoutError) as exc:
                raise TransientError(f"Kinguin {method} {path} failed: {exc!r}") from exc
            try:
                return result(method, path, response)
            except KinguinBusy as busy:
                throttled = response.status_code == 429
                delay = busy.retry_after or self._backoff * 2 ** (attempt - 1)
                if throttled:
                    # Kinguin counts every replica's calls: all of them hold back, this
                    # call's retry (its next acquire) included.
                    await self._limiter.throttled(delay)
                # After a 5xx a POST may have been carried out: never send it twice.
                if attempt == self._attempts or not (throttled or repeatable):
                    raise
            logger.warning(
                "kinguin busy; retrying",
                extra={"path": path, "status": response.status_code, "delay_s": delay},
            )
            if not throttled:
                await asyncio.sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")


def _product(product_id: str, document: Any) -> KinguinProductInfo:
    try:
        price = Decimal(str(document["price"]))
        qty = int(document.get("qty") or 0)
    except (KeyError, TypeError, ValueError, InvalidOperation):
        raise TransientError(f"Kinguin answered product {product_id} without a price.") from None
    if not price.is_finite() or price <= 0:
        raise TransientError(f"Kinguin answered product {product_id} at price {price}.")
    release = document.get("releaseDate")
    return KinguinProductInfo(
        product_id=product_id,
        price=price,
        qty=max(qty, 0),
        is_preorder=document.get("isPreorder") is True,
        release_date=release if isinstance(release, str) and release else None,
        updated_at=_optional_time(document.get("updatedAt")),
    )


def _order(document: Any) -> KinguinOrder:
    try:
        release = document.get("preorderReleaseDate")
        return KinguinOrder(
            order_id=str(document["orderId"]),
            external_id=_text(document.get("orderExternalId")),
            status=str(document["status"]),
            is_preorder=document.get("isPreorder") is True,
            preorder_release_date=_date(release),
            total_price=_amount(document.get("totalPrice")),
            # Documented as a string, shown as a number in the examples: either is read.
            payment_price=_amount(document.get("paymentPrice")),
            created_at=_time(document.get("createdAt")),
            lines=tuple(_line(item) for item in document.get("products") or ()),
        )
    except (KeyError, TypeError, ValueError, AttributeError, InvalidOperation) as exc:
        raise TransientError(f"Kinguin answered an order we cannot read: {exc!r}") from None


def _line(item: Any) -> KinguinOrderLine:
    kinguin_id = item.get("kinguinId")
    price = _amount(item.get("price"))
    return KinguinOrderLine(
        product_id=str(item["productId"]),
        kinguin_id=kinguin_id if isinstance(kinguin_id, int) else None,
        offer_id=_text(item.get("offerId")),
        qty=int(item["qty"]),
        price=price if price is not None else Decimal(0),
        is_preorder=item.get("isPreorder") is True,
        release_date=_text(item.get("releaseDate")),
        keys=tuple(
            KinguinKeyStatus(str(key["id"]), str(key["status"])) for key in item.get("keys") or ()
        ),
    )


def _key(item: Any) -> KinguinKey:
    try:
        return KinguinKey(
            serial=str(item["serial"]),
            type=str(item["type"]),
            product_id=str(item["productId"]),
            id=_text(item.get("id")),
            offer_id=_text(item.get("offerId")),
        )
    except (KeyError, TypeError) as exc:
        raise TransientError(f"Kinguin answered a key we cannot read: {exc!r}") from None


def _date(value: object) -> date | None:
    """Kinguin's ``2020-10-07`` (or a full timestamp); None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _optional_time(value: object) -> datetime | None:
    """A time Kinguin gave, if it is one with a zone; None otherwise (it is only a hint)."""
    try:
        parsed = _time(value)
    except ValueError:
        return None
    return parsed if parsed is not None and parsed.tzinfo is not None else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _amount(value: object) -> Decimal | None:
    """A price written as a JSON number or a string; None when absent."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"not an amount: {value!r}")
    amount = Decimal(str(value))
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return amount


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
