"""The home page: what payments and fulfillment count, the parked messages and the
Kinguin balance, all asked at the same time; a service that does not answer is named
and its figures left unknown, the page is shown all the same."""

import asyncio
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TypeVar

from markupsafe import Markup
from pydantic import BaseModel

from bitloot_admin.adapters.upstream import UpstreamClient
from bitloot_admin.domain import home
from bitloot_admin.domain.charts import NARROW, WIDE, chart
from bitloot_admin.domain.health import GatewayBalance, KinguinBalance, kinguin_balance
from bitloot_admin.domain.home import (
    DAY_HOURS,
    WEEK_HOURS,
    Action,
    Figures,
    FulfillmentStats,
    MoreOf,
    PaymentStats,
    Windows,
)
from bitloot_admin.handlers.repairs import ListDeadLetters
from bitloot_contracts.topics import FULFILLMENT, KINGUIN_GATEWAY, PAYMENTS

ModelT = TypeVar("ModelT", bound=BaseModel)
# The parked messages read per service (the dead-letters page's most).
LETTERS = 100


@dataclass(frozen=True)
class Chart:
    """One chart, drawn wide (a desktop's half page) and narrow (a phone)."""

    title: str
    wide: Markup
    narrow: Markup


@dataclass
class Home:
    today: Figures
    week: Figures
    open_now: dict[str, int | None]
    balance: KinguinBalance
    actions: list[Action]
    more: list[MoreOf]
    charts: list[Chart]
    partial: list[str]


class ShowHome:
    def __init__(self, upstream: UpstreamClient, dead_letters: ListDeadLetters) -> None:
        self._upstream = upstream
        self._dead_letters = dead_letters

    async def __call__(self, now: datetime) -> Home:
        upstream = self._upstream
        clock = Windows(now)
        payments, week, today, balance, letters = await asyncio.gather(
            _stats(upstream, PAYMENTS, PaymentStats, clock.week),
            _stats(upstream, FULFILLMENT, FulfillmentStats, clock.week),
            _stats(upstream, FULFILLMENT, FulfillmentStats, clock.today),
            upstream.get(KINGUIN_GATEWAY, "/internal/balance", GatewayBalance),
            self._dead_letters(False, LETTERS),
        )
        if week is None or today is None:
            week = today = None
        partial = [
            name for name, answer in ((PAYMENTS, payments), (FULFILLMENT, week)) if not answer
        ]
        partial += [name for name in letters.partial if name not in partial]
        if not isinstance(balance, GatewayBalance) and KINGUIN_GATEWAY not in partial:
            partial.append(KINGUIN_GATEWAY)
        # A service that did not answer every part leaves those parts unknown.
        shown = None if letters.partial else letters.items
        shown_balance = kinguin_balance(balance if isinstance(balance, GatewayBalance) else None)
        actions, more = home.needs_action(payments, week, letters.items, shown_balance)
        hours = week.hours if week else None
        return Home(
            today=home.figures(
                clock.today, payments, hours, today.window if today else None, shown
            ),
            week=home.figures(clock.week, payments, hours, week.window if week else None, shown),
            open_now=home.open_now(payments, week, shown),
            balance=shown_balance,
            actions=actions,
            more=more,
            charts=_charts(clock, payments, week),
            partial=partial,
        )


def _charts(
    clock: Windows, payments: PaymentStats | None, fulfillment: FulfillmentStats | None
) -> list[Chart]:
    day, week = clock.hours(DAY_HOURS), clock.hours(WEEK_HOURS)
    drawn = (
        ("Orders and failures per hour, last 24 h", day, True),
        ("Orders and failures per hour, last 7 days", week, True),
        ("Time-to-key per hour (seconds), last 24 h", day, False),
        ("Time-to-key per hour (seconds), last 7 days", week, False),
    )
    charts = []
    for title, hours, counts in drawn:
        series = (
            home.orders_series(hours, payments, fulfillment)
            if counts
            else home.time_to_key_series(hours, fulfillment)
        )
        # The same chart drawn wide and narrow; an hour's counts of a day are bars.
        draw = partial(chart, series, week=hours is week, bars=counts and hours is not week)
        charts.append(Chart(title, draw(WIDE, counts=counts), draw(NARROW, counts=counts)))
    return charts


async def _stats(
    upstream: UpstreamClient, service: str, model: type[ModelT], since: datetime
) -> ModelT | None:
    answer = await upstream.get(service, "/internal/stats", model, {"since": since.isoformat()})
    return answer if isinstance(answer, model) else None
