"""The Kinguin balance in the internal API, as this instance last read it (no call to
Kinguin per request: the admin's Health page asks often)."""

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field, PlainSerializer
from starlette.requests import Request
from starlette.responses import Response

from bitloot_kinguin_gateway.entrypoints.edge import Edge
from bitloot_runtime.app import dependencies
from bitloot_runtime.http import Moment, answer
from bitloot_runtime.openapi import ApiRoute

Eur = Annotated[
    Decimal, PlainSerializer(lambda amount: format(amount.normalize(), "f"), return_type=str)
]


class Balance(BaseModel):
    """Amounts in EUR as decimal strings; `balance_eur` and `low` are null until the
    first successful read; `error` names why the last attempt failed (then `stale` is
    true if an older balance is shown)."""

    balance_eur: Eur | None = Field(validation_alias="balance")
    low: bool | None
    threshold_eur: Eur | None = Field(validation_alias="threshold")
    read_at: Moment | None
    stale: bool
    error: str | None
    detail: str | None
    failed_at: Moment | None
    poll_seconds: float


async def balance(request: Request) -> Response:
    edge = dependencies(request, Edge)
    found = edge.balance()
    status = {**vars(found), "low": found.low, "stale": found.stale}
    return answer(Balance.model_validate({**status, "poll_seconds": edge.balance_poll_seconds}))


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
