"""NOWPayments' invoice API (``POST /v1/invoice``, header ``x-api-key``).

Timeouts, 429 and 5xx are transient: retried a few times with growing delays, then
raised as `NowPaymentsUnavailable`. Any other 4xx, or an answer without an invoice id and
URL, is `NowPaymentsRejected`: retrying the same request cannot help.
"""

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

import httpx

from bitloot_runtime.errors import PermanentError, TransientError

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
DEFAULT_RETRY_DELAYS = (0.5, 2.0)


class NowPaymentsUnavailable(TransientError):
    """NOWPayments did not answer in time, or answered 429/5xx, on every attempt."""


class NowPaymentsRejected(PermanentError):
    """NOWPayments refused the request (4xx) or answered something unusable."""


@dataclass(frozen=True)
class Invoice:
    """An invoice NOWPayments created: its id and the page where the customer pays."""

    id: str
    invoice_url: str


class NowPaymentsClient:
    """Creates invoices; `client` is owned (and closed) by whoever built it."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        client: httpx.AsyncClient,
        *,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._client = client
        self._timeout = timeout
        self._retry_delays = tuple(retry_delays)

    async def create_invoice(
        self,
        order_id: UUID,
        amount: Decimal,
        currency: str,
        description: str,
        ipn_callback_url: str,
    ) -> Invoice:
        """A new invoice for `order_id`, paid in any coin NOWPayments offers."""
        body = {
            "price_amount": format(amount.normalize(), "f"),
            "price_currency": currency,
            "order_id": str(order_id),
            "order_description": description,
            "ipn_callback_url": ipn_callback_url,
        }
        document = await self._post("/v1/invoice", body)
        invoice_id, url = document.get("id"), document.get("invoice_url")
        if not isinstance(invoice_id, str | int) or not isinstance(url, str) or not url:
            raise NowPaymentsRejected("bad_response", "The invoice answer has no id or URL.")
        return Invoice(id=str(invoice_id), invoice_url=url)

    async def _post(self, path: str, body: dict[str, str]) -> dict[str, object]:
        for attempt, delay in enumerate(self._retry_delays, start=1):
            try:
                return await self._post_once(path, body)
            except NowPaymentsUnavailable as exc:
                logger.warning(
                    "NOWPayments unavailable, retrying",
                    extra={"attempt": attempt, "delay": delay, "error": str(exc)},
                )
                await asyncio.sleep(delay)
        return await self._post_once(path, body)

    async def _post_once(self, path: str, body: dict[str, str]) -> dict[str, object]:
        try:
            response = await self._client.post(
                self._base_url + path,
                json=body,
                headers={"x-api-key": self._api_key},
                timeout=self._timeout,
            )
        except httpx.TimeoutException:
            raise NowPaymentsUnavailable(f"POST {path} timed out.") from None
        except httpx.TransportError as exc:
            raise NowPaymentsUnavailable(f"POST {path} failed: {type(exc).__name__}.") from None
        status = response.status_code
        if status == 429 or status >= 500:
            raise NowPaymentsUnavailable(f"POST {path} answered {status}.")
        if status >= 400:
            raise NowPaymentsRejected("rejected", f"POST {path} answered {status}.")
        try:
            document = response.json()
        except ValueError:
            raise NowPaymentsRejected("bad_response", f"POST {path} answered non-JSON.") from None
        if not isinstance(document, dict):
            raise NowPaymentsRejected("bad_response", f"POST {path} answered a non-object.")
        return document
