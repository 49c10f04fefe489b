"""``GET /v1/payment/``: "Get list of payments" (``x-api-key`` and a bearer JWT).

Documented query parameters: `limit` (1 to 500; default 10), `page` (0-based), `sortBy`
(default created_at; the documented fields), `orderBy` (asc, the default, or desc),
`dateFrom` / `dateTo` (``YYYY-MM-DD`` or a full ISO time) and `invoiceId`. The answer is
``{"data": [...], "limit", "page", "pagesCount", "total"}``, each item the payment status
object. The docs are silent on what follows, so the sandbox chooses:

- `dateFrom` / `dateTo` bound `created_at`, both inclusive; a bare date as `dateTo`
  includes that whole day (UTC); a time without a zone is UTC;
- a page past the last answers an empty `data`;
- a parameter it does not know is refused (``"invoice_id" is not allowed``), so a client
  with a misspelt filter learns it instead of getting every payment;
- equal sort keys are ordered by payment id, in the requested direction.
"""

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bitloot_sandbox_nowpayments.auth import bearer
from bitloot_sandbox_nowpayments.endpoint import InvalidRequest, api, sandbox_of
from bitloot_sandbox_nowpayments.payment import Payment

SortKey = Callable[[Payment], tuple[int | float | str, int]]


def _numeric(read: Callable[[Payment], object]) -> SortKey:
    return lambda p: (float(str(read(p))), p.payment_id)


def _textual(read: Callable[[Payment], str | None]) -> SortKey:
    return lambda p: (read(p) or "", p.payment_id)


SORT_KEYS: dict[str, SortKey] = {
    "created_at": lambda p: (p.created_at.timestamp(), p.payment_id),
    "payment_id": lambda p: (p.payment_id, p.payment_id),
    "payment_status": _textual(lambda p: p.payment_status),
    "pay_address": _textual(lambda p: p.pay_address),
    "price_amount": _numeric(lambda p: p.price_amount),
    "price_currency": _textual(lambda p: p.price_currency),
    "pay_amount": _numeric(lambda p: p.pay_amount),
    "actually_paid": _numeric(lambda p: p.actually_paid),
    "pay_currency": _textual(lambda p: p.pay_currency),
    "order_id": _textual(lambda p: p.order_id),
    "order_description": _textual(lambda p: p.order_description),
    "purchase_id": _numeric(lambda p: p.purchase_id),
    "outcome_amount": _numeric(lambda p: p.outcome_amount),
    "outcome_currency": _textual(lambda p: p.pay_currency),
}
KNOWN = frozenset({"limit", "page", "sortBy", "orderBy", "dateFrom", "dateTo", "invoiceId"})
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _integer(raw: str, name: str, low: int, high: int | None = None) -> int:
    if not re.fullmatch(r"-?\d+", raw):
        raise InvalidRequest(f'"{name}" must be a number')
    value = int(raw)
    if value < low:
        raise InvalidRequest(f'"{name}" must be greater than or equal to {low}')
    if high is not None and value > high:
        raise InvalidRequest(f'"{name}" must be less than or equal to {high}')
    return value


def _one_of(raw: str, name: str, allowed: list[str]) -> str:
    if raw not in allowed:
        raise InvalidRequest(f'"{name}" must be one of [{", ".join(allowed)}]')
    return raw


def _moment(raw: str, name: str, *, end: bool) -> datetime:
    try:
        if DATE.fullmatch(raw):
            day = datetime.fromisoformat(raw).replace(tzinfo=UTC)
            return day + timedelta(days=1, microseconds=-1) if end else day
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidRequest(f'"{name}" must be a valid date') from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Query:
    """The validated query of a list request."""

    def __init__(self, params: dict[str, str]) -> None:
        for name in params:
            if name not in KNOWN:
                raise InvalidRequest(f'"{name}" is not allowed')
        self.limit = _integer(params.get("limit", "10"), "limit", 1, 500)
        self.page = _integer(params.get("page", "0"), "page", 0)
        self.sort_by = _one_of(params.get("sortBy", "created_at"), "sortBy", list(SORT_KEYS))
        self.order_by = _one_of(params.get("orderBy", "asc"), "orderBy", ["asc", "desc"])
        since, until = params.get("dateFrom"), params.get("dateTo")
        self.since = _moment(since, "dateFrom", end=False) if since is not None else None
        self.until = _moment(until, "dateTo", end=True) if until is not None else None
        invoice = params.get("invoiceId")
        self.invoice_id = _integer(invoice, "invoiceId", 0) if invoice is not None else None

    def wants(self, payment: Payment) -> bool:
        """Whether `payment` passes the filters."""
        return (
            (self.invoice_id is None or payment.invoice_id == self.invoice_id)
            and (self.since is None or payment.created_at >= self.since)
            and (self.until is None or payment.created_at <= self.until)
        )


@api
@bearer
async def list_payments(request: Request) -> Response:
    """``GET /v1/payment/``: one page of the payments that pass the filters, sorted."""
    query = Query(dict(request.query_params))
    payments = [p for p in sandbox_of(request).store.payments.values() if query.wants(p)]
    payments.sort(key=SORT_KEYS[query.sort_by], reverse=query.order_by == "desc")
    start = query.page * query.limit
    return JSONResponse(
        {
            "data": [p.as_json() for p in payments[start : start + query.limit]],
            "limit": query.limit,
            "page": query.page,
            "pagesCount": math.ceil(len(payments) / query.limit),
            "total": len(payments),
        }
    )
