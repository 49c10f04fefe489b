"""The Kinguin balance in the internal API, as this instance last read it (no call to
Kinguin per request: the admin's Health page asks often)."""

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bitloot_kinguin_gateway.domain.balance import BalanceStatus


def balance_routes(status: Callable[[], BalanceStatus], poll_seconds: float) -> list[Route]:
    """``GET /internal/balance``."""

    async def balance(_request: Request) -> Response:
        return JSONResponse(balance_json(status(), poll_seconds))

    return [Route("/internal/balance", balance, methods=["GET"])]


def balance_json(status: BalanceStatus, poll_seconds: float) -> dict[str, Any]:
    """Amounts in EUR as decimal strings; `balance_eur` and `low` are null until the
    first successful read; `error` names why the last attempt failed (then `stale` is
    true if an older balance is shown)."""
    return {
        "balance_eur": _money(status.balance),
        "low": status.low,
        "threshold_eur": _money(status.threshold),
        "read_at": _iso(status.read_at),
        "stale": status.stale,
        "error": status.error,
        "detail": status.detail,
        "failed_at": _iso(status.failed_at),
        "poll_seconds": poll_seconds,
    }


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else format(amount.normalize(), "f")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
