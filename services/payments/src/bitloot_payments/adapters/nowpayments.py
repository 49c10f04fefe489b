"""NOWPayments' invoice API (``POST /v1/invoice``, header ``x-api-key``).

Timeouts, transport errors, 429 and 5xx are transient: retried with exponential backoff
and jitter (honouring ``Retry-After``, capped), then raised as `NowPaymentsUnavailable`
(`NowPaymentsTimeout` and `NowPaymentsRateLimited` say which). Any other 4xx, or an
answer without an invoice id and URL, is `NowPaymentsRejected`: retrying cannot help.
"""

import asyncio
import json
import logging
import random
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

import httpx

from bitloot_runtime.errors import PermanentError, TransientError

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(5.0, connect=3.0)


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
    """NOWPayments refused the request (4xx) or answered something unusable."""


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
    """Creates invoices; `client` is owned (and closed) by whoever built it."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        client: httpx.AsyncClient,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = RetryPolicy(),
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._client = client
        self._timeout = timeout
        self._retry = retry

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
        document = await self._post("/v1/invoice", _with_amount(fields, amount))
        invoice_id, url = document.get("id"), document.get("invoice_url")
        if not isinstance(invoice_id, str | int) or not isinstance(url, str) or not url:
            raise NowPaymentsRejected("bad_response", "The invoice answer has no id or URL.")
        return Invoice(id=str(invoice_id), invoice_url=url)

    async def _post(self, path: str, content: bytes) -> dict[str, object]:
        for attempt in range(1, self._retry.attempts):
            try:
                return await self._post_once(path, content)
            except NowPaymentsUnavailable as exc:
                asked = exc.retry_after if isinstance(exc, NowPaymentsRateLimited) else None
                delay = self._retry.delay(attempt, asked)
                logger.warning(
                    "NOWPayments unavailable, retrying",
                    extra={"attempt": attempt, "delay": round(delay, 3), "error": str(exc)},
                )
                await asyncio.sleep(delay)
        return await self._post_once(path, content)

    async def _post_once(self, path: str, content: bytes) -> dict[str, object]:
        try:
            response = await self._client.post(
                self._base_url + path,
                content=content,
                headers={"x-api-key": self._api_key, "content-type": "application/json"},
                timeout=self._timeout,
            )
        except httpx.TimeoutException:
            raise NowPaymentsTimeout(f"POST {path} timed out.") from None
        except httpx.TransportError as exc:
            raise NowPaymentsUnavailable(f"POST {path} failed: {type(exc).__name__}.") from None
        return _document(path, response)


def _with_amount(fields: dict[str, str], amount: Decimal) -> bytes:
    """`fields` as a JSON object with ``price_amount``, a JSON number as NOWPayments
    documents it, written digit for digit from the decimal (a float could round it)."""
    number = format(amount.normalize(), "f")
    rest = json.dumps(fields, separators=(",", ":"))
    return ('{"price_amount":' + number + ("," + rest[1:] if fields else "}")).encode()


def _document(path: str, response: httpx.Response) -> dict[str, object]:
    status = response.status_code
    if status == 429:
        raise NowPaymentsRateLimited(f"POST {path} answered 429.", _retry_after(response))
    if status >= 500:
        raise NowPaymentsUnavailable(f"POST {path} answered {status}.", status)
    if status >= 400:
        raise NowPaymentsRejected("rejected", f"POST {path} answered {status}.")
    try:
        document = response.json()
    except ValueError:
        raise NowPaymentsRejected("bad_response", f"POST {path} answered non-JSON.") from None
    if not isinstance(document, dict):
        raise NowPaymentsRejected("bad_response", f"POST {path} answered a non-object.")
    return document
