"""NOWPayments' API as payments uses it: ``POST /v1/invoice`` and ``GET /v1/payment/{id}``
(header ``x-api-key``), and ``GET /v1/payment/`` filtered by invoice, which also needs
``Authorization: Bearer`` with a token from ``POST /v1/auth`` (email and password; the
docs say a token lasts 5 minutes, so one is kept for 4 and fetched again on a 401).

Timeouts, transport errors, 429 and 5xx are transient: retried with exponential backoff
and jitter (honouring ``Retry-After``, capped), then raised as `NowPaymentsUnavailable`
(`NowPaymentsTimeout` and `NowPaymentsRateLimited` say which). Any other 4xx, or an
answer without the fields asked for, is `NowPaymentsRejected`: retrying cannot help.
"""

import asyncio
import json
import logging
import random
import time
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

import httpx
from pydantic import JsonValue

from bitloot_runtime.errors import PermanentError, TransientError
from bitloot_runtime.outbound import operation

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(5.0, connect=3.0)
# NOWPayments' tokens last 5 minutes; one is used for 4, so none expires in flight.
TOKEN_LIFETIME = 240.0
PAGE_SIZE = 100
# An invoice has a handful of payments (a buyer switching coins, re-deposits).
MAX_PAGES = 10


class NowPaymentsUnavailable(TransientError):
    """NOWPayments did not answer usably on any attempt; `status` is its last HTTP status
    (None: no answer)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class NowPaymentsTimeout(NowPaymentsUnavailable):
    """NOWPayments did not answer in time (the request may still have been carried out)."""


class NowPaymentsRateLimited(NowPaymentsUnavailable):
    """NOWPayments answered 429; `retry_after` is the wait it asked for, if any."""

    def __init__(self, message: str, retry_after: float | None) -> None:
        super().__init__(message, 429)
        self.retry_after = retry_after


class NowPaymentsRejected(PermanentError):
    """NOWPayments refused the request (4xx: `status`) or answered something unusable."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(code, message)
        self.status = status


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts` in all; before attempt n+1 wait about `base_delay` * 2**(n-1), at most
    `max_delay`, half of it random so that clients retrying together spread out."""

    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0

    def delay(self, attempt: int, asked: float | None = None) -> float:
        """Seconds to wait after failed attempt `attempt` (1-based); `asked`: Retry-After."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        backoff = ceiling / 2 + random.uniform(0, ceiling / 2)
        return min(self.max_delay, max(backoff, asked or 0.0))


@dataclass(frozen=True)
class Invoice:
    """An invoice NOWPayments created: its id and the page where the customer pays."""

    id: str
    invoice_url: str


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after", "")
    return float(raw) if raw.isdigit() else None


class NowPaymentsClient:
    """Creates invoices and reads payments; `client` is owned (and closed) by whoever
    built it."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        client: httpx.AsyncClient,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = RetryPolicy(),
        credentials: tuple[str, str] | None = None,
    ) -> None:
        """`credentials`: the account's email and password, for listing payments."""
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._client = client
        self._timeout = timeout
        self._retry = retry
        self._credentials = credentials
        self._bearer: tuple[str, float] | None = None
        self._token_lock = asyncio.Lock()

    async def create_invoice(
        self,
        order_id: UUID,
        amount: Decimal,
        currency: str,
        description: str,
        ipn_callback_url: str,
        *,
        success_url: str | None = None,
        cancel_url: str | None = None,
    ) -> Invoice:
        """A new invoice for `order_id`, paid in any coin NOWPayments offers; the buyer is
        sent back to `success_url` once paid, `cancel_url` if they give up."""
        fields = {
            "price_currency": currency,
            "order_id": str(order_id),
            "order_description": description,
            "ipn_callback_url": ipn_callback_url,
            **({"success_url": success_url} if success_url else {}),
            **({"cancel_url": cancel_url} if cancel_url else {}),
        }
        body = _with_amount(fields, amount)
        document = await self._request("POST", "/v1/invoice", "create_invoice", content=body)
        invoice_id, url = document.get("id"), document.get("invoice_url")
        if not isinstance(invoice_id, str | int) or not isinstance(url, str) or not url:
            raise NowPaymentsRejected("bad_response", "The invoice answer has no id or URL.")
        return Invoice(id=str(invoice_id), invoice_url=url)

    async def payment(self, payment_id: str) -> dict[str, JsonValue]:
        """``GET /v1/payment/{payment_id}``: the payment status object, as NOWPayments
        writes it (the same shape as an IPN body)."""
        return await self._request("GET", f"/v1/payment/{payment_id}", "get_payment")

    async def payments_of_invoice(self, invoice_id: str) -> list[dict[str, JsonValue]]:
        """Every payment of the invoice (``GET /v1/payment/?invoiceId=…``, page by page);
        `NowPaymentsRejected` when no account credentials are configured."""
        found: list[dict[str, JsonValue]] = []
        for page in range(MAX_PAGES):
            params = {"invoiceId": invoice_id, "limit": str(PAGE_SIZE), "page": str(page)}
            document = await self._authorized("GET", "/v1/payment/", "list_payments", params)
            data = document.get("data")
            if not isinstance(data, list):
                raise NowPaymentsRejected("bad_response", "The payment list has no data.")
            found += [item for item in data if isinstance(item, dict)]
            pages = document.get("pagesCount")
            if not isinstance(pages, int) or page + 1 >= pages:
                break
        return found

    @property
    def can_list(self) -> bool:
        """Whether account credentials are configured (listing payments needs them)."""
        return self._credentials is not None

    async def _authorized(
        self, method: str, path: str, name: str, params: dict[str, str]
    ) -> dict[str, JsonValue]:
        try:
            token = await self.token(refresh=False)
            return await self._request(method, path, name, params=params, bearer=token)
        except NowPaymentsRejected as exc:
            if exc.status != 401:
                raise
        logger.info("NOWPayments token refused; authenticating again")
        token = await self.token(refresh=True)
        return await self._request(method, path, name, params=params, bearer=token)

    async def token(self, *, refresh: bool) -> str:
        """A bearer JWT from ``POST /v1/auth``, kept for `TOKEN_LIFETIME` (`refresh`:
        fetch a new one); `NowPaymentsRejected` when no credentials are configured."""
        if self._credentials is None:
            raise NowPaymentsRejected(
                "not_configured", "Listing payments needs the NOWPayments account's credentials."
            )
        async with self._token_lock:
            now = time.monotonic()
            if refresh or self._bearer is None or now >= self._bearer[1]:
                email, password = self._credentials
                body = json.dumps({"email": email, "password": password}).encode()
                answer = await self._request("POST", "/v1/auth", "login", content=body)
                token = answer.get("token")
                if not isinstance(token, str) or not token:
                    raise NowPaymentsRejected("bad_response", "The auth answer has no token.")
                self._bearer = (token, now + TOKEN_LIFETIME)
            return self._bearer[0]

    async def _request(
        self,
        method: str,
        path: str,
        name: str,
        *,
        content: bytes | None = None,
        params: dict[str, str] | None = None,
        bearer: str | None = None,
    ) -> dict[str, JsonValue]:
        async def once() -> dict[str, JsonValue]:
            try:
                response = await self.send(method, path, name, content, params, bearer)
            except httpx.TimeoutException:
                raise NowPaymentsTimeout(f"{method} {path} timed out.") from None
            except httpx.TransportError as exc:
                failure = f"{method} {path} failed: {type(exc).__name__}."
                raise NowPaymentsUnavailable(failure) from None
            return _document(f"{method} {path}", response)

        for attempt in range(1, self._retry.attempts):
            try:
                return await once()
            except NowPaymentsUnavailable as exc:
                asked = exc.retry_after if isinstance(exc, NowPaymentsRateLimited) else None
                delay = self._retry.delay(attempt, asked)
                logger.warning(
                    "NOWPayments unavailable, retrying",
                    extra={"attempt": attempt, "delay": round(delay, 3), "error": str(exc)},
                )
                await asyncio.sleep(delay)
        return await once()

    async def send(
        self,
        method: str,
        path: str,
        name: str,
        content: bytes | None,
        params: dict[str, str] | None,
        bearer: str | None,
        timeout: httpx.Timeout | None = None,
    ) -> httpx.Response:
        """One call to the API with our key (and `bearer`'s token): httpx's answer or
        error as it is (`name`: the call in the outbound metrics)."""
        headers = {"x-api-key": self._api_key}
        if content is not None:
            headers["content-type"] = "application/json"
        if bearer is not None:
            headers["authorization"] = f"Bearer {bearer}"
        return await self._client.request(
            method,
            self._base_url + path,
            content=content,
            params=params,
            headers=headers,
            timeout=timeout or self._timeout,
            extensions=operation(name),
        )


def _with_amount(fields: dict[str, str], amount: Decimal) -> bytes:
    """`fields` as a JSON object with ``price_amount``, a JSON number as NOWPayments
    documents it, written digit for digit from the decimal (a float could round it)."""
    number = format(amount.normalize(), "f")
    rest = json.dumps(fields, separators=(",", ":"))
    return ('{"price_amount":' + number + ("," + rest[1:] if fields else "}")).encode()


def _document(call: str, response: httpx.Response) -> dict[str, JsonValue]:
    status = response.status_code
    if status == 429:
        raise NowPaymentsRateLimited(f"{call} answered 429.", _retry_after(response))
    if status >= 500:
        raise NowPaymentsUnavailable(f"{call} answered {status}.", status)
    if status >= 400:
        raise NowPaymentsRejected("rejected", f"{call} answered {status}.", status)
    try:
        document = response.json()
    except ValueError:
        raise NowPaymentsRejected("bad_response", f"{call} answered non-JSON.") from None
    if not isinstance(document, dict):
        raise NowPaymentsRejected("bad_response", f"{call} answered a non-object.")
    return document
