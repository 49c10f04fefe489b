"""Control endpoints for payouts (``/sandbox/payouts...``, JSON, no authentication).

- ``GET /sandbox/payouts``: every batch (`id`, `verified`, `attempts`) with its
  withdrawals and the IPNs sent (or dropped) about each: the ledger tests count.
- ``POST /sandbox/payouts/next`` {"fate": "finished" | "failed" | "rejected" | "stall"}:
  what becomes of the next payout created (queued: one call per payout); ``GET`` shows
  the queue, ``DELETE`` empties it.
- ``POST /sandbox/payouts/{withdrawal id}/status`` {"status", "error"?}: move a payout to
  any documented status now and send one IPN. 200 and the withdrawal object.
- ``POST /sandbox/payouts/balance`` {"currency", "amount"}: make `amount` (a number, at
  least 0) available in `currency`. 200 and the balance.

A refused call answers 400 (404 for an unknown id) ``{"error": "invalid_request",
"detail"}`` and changes nothing.
"""

import math
from decimal import Decimal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitloot_sandbox_common.control import json_object, refuse
from bitloot_sandbox_nowpayments.endpoint import sandbox_of
from bitloot_sandbox_nowpayments.payouts import FATES
from bitloot_sandbox_nowpayments.store import RATES
from bitloot_sandbox_nowpayments.withdrawal import PAYOUT_STATUSES


async def ledger(request: Request) -> Response:
    """``GET /sandbox/payouts``: every batch, its withdrawals and their IPNs."""
    batches = sandbox_of(request).payouts.batches.values()
    return JSONResponse(
        [
            {
                "id": str(batch.id),
                "verified": batch.verified,
                "attempts": batch.attempts,
                "withdrawals": [w.ledger() for w in batch.withdrawals],
            }
            for batch in batches
        ]
    )


async def next_fate(request: Request) -> Response:
    """``GET|POST|DELETE /sandbox/payouts/next``: the fates of the next payouts."""
    desk = sandbox_of(request).payouts
    if request.method == "DELETE":
        desk.fates.clear()
    elif request.method == "POST":
        body = await json_object(request)
        fate = body.get("fate") if body is not None else None
        if not isinstance(fate, str) or fate not in FATES:
            return refuse(f"fate {fate!r} is not one of {list(FATES)}")
        desk.fates.append(fate)
    return JSONResponse({"fates": desk.fates})


async def set_status(request: Request) -> Response:
    """``POST /sandbox/payouts/{id}/status``: move a payout, send one IPN."""
    desk = sandbox_of(request).payouts
    raw = request.path_params["withdrawal_id"]
    withdrawal = desk.withdrawals.get(int(raw)) if raw.isdigit() else None
    if withdrawal is None:
        return refuse(f"Payout {raw!r} not found", 404)
    body = await json_object(request)
    if body is None:
        return refuse("The body must be a JSON object")
    status, error = body.get("status"), body.get("error")
    if not isinstance(status, str) or status not in PAYOUT_STATUSES:
        return refuse(f"status {status!r} is not one of {list(PAYOUT_STATUSES)}")
    if error is not None and not isinstance(error, str):
        return refuse(f"error {error!r} is not a string")
    desk.move(withdrawal, status, error)
    return JSONResponse(withdrawal.as_json())


async def set_balance(request: Request) -> Response:
    """``POST /sandbox/payouts/balance`` {"currency", "amount"}: what is available."""
    desk = sandbox_of(request).payouts
    body = await json_object(request)
    if body is None:
        return refuse("The body must be a JSON object")
    currency, amount = body.get("currency"), body.get("amount")
    if not isinstance(currency, str) or currency not in RATES:
        return refuse(f"currency {currency!r} is not one of {list(RATES)}")
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        return refuse(f"amount {amount!r} is not a non-negative number")
    if not math.isfinite(amount) or amount < 0:
        return refuse(f"amount {amount!r} is not a non-negative number")
    desk.funds[currency] += Decimal(str(amount)) - desk.available(currency)
    return JSONResponse(desk.balance())


routes = [
    Route("/sandbox/payouts", ledger, methods=["GET"]),
    Route("/sandbox/payouts/next", next_fate, methods=["GET", "POST", "DELETE"]),
    Route("/sandbox/payouts/balance", set_balance, methods=["POST"]),
    Route("/sandbox/payouts/{withdrawal_id}/status", set_status, methods=["POST"]),
]
