"""The Kinguin balance in the internal API, as this instance last read it (no call to
Kinguin per request: the admin's Health page asks often)."""

from decimal import Decimal

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

from bitloot_kinguin_gateway.entrypoints.edge import Edge
from bitloot_runtime.app import dependencies
from bitloot_runtime.http import Moment, answer
from bitloot_runtime.openapi import ApiRoute


class Balance(BaseModel):
    """Amounts in EUR as decimal strings; `balance_eur` and `low` are null until the
    first successful read; `error` names why the last attempt failed (then `stale` is
    true if an older balance is shown)."""

    balance_eur: str | None
    low: bool | None
    threshold_eur: str | None
    read_at: Moment | None
    stale: bool
    error: str | None
    detail: str | None
    failed_at: Moment | None
    poll_seconds: float


async def balance(request: Request) -> Response:
    edge = dependencies(request, Edge)
    status = edge.balance()
    return answer(
        Balance(
            balance_eur=_money(status.balance),
            low=status.low,
            threshold_eur=_money(status.threshold),
            read_at=status.read_at,
            stale=status.stale,
            error=status.error,
            detail=status.detail,
            failed_at=status.failed_at,
            poll_seconds=edge.balance_poll_seconds,
        )
    )


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else format(amount.normalize(), "f")


ROUTES = [
    ApiRoute(
        "/internal/balance",
        balance,
        summary="The Kinguin balance (EUR) as this instance last read it, whether it is below "
        "KINGUIN_GATEWAY_BALANCE_LOW, and why the last read failed if it did (the balance "
        "shown is then `stale`). `balance_eur` and `low` are null until a first read succeeds.",
        response=Balance,
    )
]
