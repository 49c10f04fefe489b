"""NOWPayments' "Mass payouts" API: ``GET /v1/balance``, ``POST /v1/payout`` (``x-api-key``
and a bearer JWT), ``POST /v1/payout/{id}/verify`` (the same), ``GET /v1/payout/{id}`` and
``GET /v1/payout`` (``x-api-key``, as the docs' requests show).

Documented: a withdrawal's `address`, `currency` and `amount` are required, the amount
"Must not exceed 6 decimals"; a bad address answers 400 ``BAD_CREATE_WITHDRAWAL_REQUEST``
"Invalid payout_address: [currency] [address]"; the status answer is an array of the
batch's withdrawals; the list answers ``{"payouts": [...]}`` filtered by `batch_id`,
`status`, `date_from`, `date_to`, ordered by `order_by` / `order`, paged by `limit` /
`page`. The sandbox chooses where the docs are silent: a short balance answers 400
``BAD_CREATE_WITHDRAWAL_REQUEST`` "Insufficient balance" with ``current_values`` (as
public clients handle it); a wrong 2FA code 400 ``INVALID_VERIFICATION_CODE``; an unknown
payout 404 ``PAYOUT_NOT_FOUND``; the list's `limit` defaults to 10 (at most 500); an
address is "valid" when it is 20 to 128 letters and digits.
"""

import asyncio
import re
from datetime import UTC, datetime, timedelta

from pydantic import JsonValue
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bitloot_sandbox_nowpayments.api import amount
from bitloot_sandbox_nowpayments.auth import bearer
from bitloot_sandbox_nowpayments.endpoint import (
    InvalidRequest,
    api,
    error,
    json_body,
    optional_text,
    required_text,
    sandbox_of,
)
from bitloot_sandbox_nowpayments.payouts import Batch, InsufficientBalance, Verification
from bitloot_sandbox_nowpayments.store import RATES
from bitloot_sandbox_nowpayments.withdrawal import PAYOUT_STATUSES, NewWithdrawal, Withdrawal

ADDRESS = re.compile(r"[A-Za-z0-9]{20,128}")
MAX_DECIMALS = 6
ORDER_BY = {
    "id": lambda w: (w.id,),
    "batchId": lambda w: (w.batch_id, w.id),
    "dateCreated": lambda w: (w.created_at.timestamp(), w.id),
    "dateRequested": lambda w: ((w.requested_at or w.created_at).timestamp(), w.id),
    "dateUpdated": lambda w: ((w.updated_at or w.created_at).timestamp(), w.id),
    "currency": lambda w: (w.currency, w.id),
    "status": lambda w: (w.status, w.id),
}
LIST_PARAMS = frozenset(
    {"batch_id", "status", "order_by", "order", "date_from", "date_to", "limit", "page"}
)


class BadWithdrawal(InvalidRequest):
    """A withdrawal NOWPayments refuses with 400 BAD_CREATE_WITHDRAWAL_REQUEST."""


def parse_withdrawal(item: object, batch: dict[str, JsonValue]) -> NewWithdrawal:
    """One element of ``withdrawals``, validated; `batch`-level fields fill in."""
    if not isinstance(item, dict):
        raise InvalidRequest('"withdrawals[]" must be of type object')
    currency = required_text(item, "currency").lower()
    if currency not in RATES:
        raise InvalidRequest(f'"currency" must be one of [{", ".join(RATES)}]')
    address = required_text(item, "address")
    if not ADDRESS.fullmatch(address):
        raise BadWithdrawal(f"Invalid payout_address: {currency} {address}")
    raw = item.get("amount")
    value = amount(raw).normalize()
    if -value.as_tuple().exponent > MAX_DECIMALS:  # type: ignore[operator]
        raise InvalidRequest(f'"amount" must have no more than {MAX_DECIMALS} decimal places')
    url = optional_text(item, "ipn_callback_url")
    if url is not None and not url.startswith(("http://", "https://")):
        raise InvalidRequest('"ipn_callback_url" must contain http or https')
    return NewWithdrawal(
        address=address,
        currency=currency,
        amount=value,
        extra_id=optional_text(item, "extra_id"),
        ipn_callback_url=url,
        unique_external_id=optional_text(item, "unique_external_id"),
        payout_description=optional_text(item, "payout_description")
        or optional_text(batch, "payout_description"),
    )


@api
@bearer
async def create_payout(request: Request) -> Response:
    """``POST /v1/payout``: 200 ``{"id": <batch id>, "withdrawals": [...]}``, each in
    ``CREATING`` until the batch is verified."""
    body = await json_body(request)
    items = body.get("withdrawals")
    if not isinstance(items, list) or not items:
        raise InvalidRequest('"withdrawals" must contain at least 1 items')
    batch_url = optional_text(body, "ipn_callback_url")
    try:
        news = [parse_withdrawal(item, body) for item in items]
        batch = sandbox_of(request).payouts.create(news, batch_url)
    except BadWithdrawal as exc:
        return error(400, "BAD_CREATE_WITHDRAWAL_REQUEST", str(exc))
    except InsufficientBalance as short:
        return _insufficient(short)
    hold = sandbox_of(request).faults.take_hold()
    if hold:
        await asyncio.sleep(hold)
    return JSONResponse(
        {"id": str(batch.id), "withdrawals": [w.as_json() for w in batch.withdrawals]}
    )


def _insufficient(short: InsufficientBalance) -> Response:
    body = {
        "status": False,
        "statusCode": 400,
        "code": "BAD_CREATE_WITHDRAWAL_REQUEST",
        "message": "Insufficient balance",
        "current_values": {
            short.currency: {
                "requested": float(short.requested),
                "actualBalance": float(short.available),
            }
        },
    }
    return JSONResponse(body, status_code=400)


def _batch(request: Request) -> Batch | None:
    raw = request.path_params["payout_id"]
    return sandbox_of(request).payouts.batches.get(int(raw)) if raw.isdigit() else None


def _not_found(request: Request) -> Response:
    return error(404, "PAYOUT_NOT_FOUND", f"Payout {request.path_params['payout_id']} not found")


@api
@bearer
async def verify_payout(request: Request) -> Response:
    """``POST /v1/payout/{id}/verify`` {"verification_code"}: 200 ``OK`` (text)."""
    batch = _batch(request)
    if batch is None:
        return _not_found(request)
    code = required_text(await json_body(request), "verification_code")
    outcome = sandbox_of(request).payouts.verify(batch, code)
    if outcome is Verification.WRONG_CODE:
        return error(400, "INVALID_VERIFICATION_CODE", "Verification code is invalid")
    if outcome is Verification.NO_ATTEMPTS_LEFT:
        return error(400, "VERIFICATION_ATTEMPTS_EXCEEDED", "No verification attempts left")
    return PlainTextResponse("OK")


@api
async def payout_status(request: Request) -> Response:
    """``GET /v1/payout/{id}``: the batch's withdrawals, an array."""
    batch = _batch(request)
    if batch is None:
        return _not_found(request)
    return JSONResponse([w.as_json() for w in batch.withdrawals])


@api
async def list_payouts(request: Request) -> Response:
    """``GET /v1/payout``: ``{"payouts": [...]}``, one page of the filtered payouts."""
    params = dict(request.query_params)
    for name in params:
        if name not in LIST_PARAMS:
            raise InvalidRequest(f'"{name}" is not allowed')
    wanted = [w for w in sandbox_of(request).payouts.withdrawals.values() if _passes(w, params)]
    order_by = params.get("order_by", "id")
    if order_by not in ORDER_BY:
        raise InvalidRequest(f'"order_by" must be one of [{", ".join(ORDER_BY)}]')
    order = params.get("order", "asc")
    if order not in ("asc", "desc"):
        raise InvalidRequest('"order" must be one of [asc, desc]')
    wanted.sort(key=ORDER_BY[order_by], reverse=order == "desc")
    limit = _integer(params.get("limit", "10"), "limit", 1, 500)
    start = _integer(params.get("page", "0"), "page", 0, None) * limit
    return JSONResponse({"payouts": [w.as_json() for w in wanted[start : start + limit]]})


def _passes(withdrawal: Withdrawal, params: dict[str, str]) -> bool:
    status = params.get("status")
    if status is not None and status.lower() not in PAYOUT_STATUSES:
        raise InvalidRequest(f'"status" must be one of [{", ".join(PAYOUT_STATUSES)}]')
    batch_id = params.get("batch_id")
    since = _moment(params["date_from"], "date_from", end=False) if "date_from" in params else None
    until = _moment(params["date_to"], "date_to", end=True) if "date_to" in params else None
    return (
        (batch_id is None or str(withdrawal.batch_id) == batch_id)
        and (status is None or withdrawal.status == status.lower())
        and (since is None or withdrawal.created_at >= since)
        and (until is None or withdrawal.created_at <= until)
    )


def _integer(raw: str, name: str, low: int, high: int | None) -> int:
    if not raw.isdigit() or int(raw) < low or (high is not None and int(raw) > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise InvalidRequest(f'"{name}" must be a number {bounds}')
    return int(raw)


def _moment(raw: str, name: str, *, end: bool) -> datetime:
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f'"{name}" must be a valid date') from None
    if len(raw) == 10 and end:
        moment += timedelta(days=1, microseconds=-1)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@api
async def balance(request: Request) -> Response:
    """``GET /v1/balance``: what each currency has available and pending."""
    return JSONResponse(sandbox_of(request).payouts.balance())


routes = [
    Route("/v1/balance", balance, methods=["GET"]),
    Route("/v1/payout", create_payout, methods=["POST"]),
    Route("/v1/payout", list_payouts, methods=["GET"]),
    Route("/v1/payout/{payout_id}", payout_status, methods=["GET"]),
    Route("/v1/payout/{payout_id}/verify", verify_payout, methods=["POST"]),
]
