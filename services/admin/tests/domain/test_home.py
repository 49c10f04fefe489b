"""The home page's rules: the figures of a period, what needs action and where the rest
of it is, the charts' hours."""

from datetime import UTC, datetime, timedelta

from bitloot_admin.domain.health import GatewayBalance, kinguin_balance
from bitloot_admin.domain.home import (
    LISTED,
    FulfillmentHour,
    FulfillmentStats,
    OpenItem,
    OpenItems,
    PaymentHour,
    PaymentStats,
    WaitingOrders,
    Windows,
    figures,
    needs_action,
)

NOW = datetime(2026, 12, 6, 1, 45, tzinfo=UTC)
CLOCK = Windows(NOW)


def payments(flags: int = 0) -> PaymentStats:
    items = [
        OpenItem(id=n, order_id=None, kind="partially_paid", at=NOW) for n in range(min(flags, 20))
    ]
    return PaymentStats(
        hours=[
            PaymentHour(hour=CLOCK.hour - timedelta(days=2), placed=5, failed=1),
            PaymentHour(hour=CLOCK.hour, placed=2, paid=1),
        ],
        open_flags=OpenItems(count=flags, items=items),
        refunds_owed=OpenItems(count=0, items=[]),
    )


def fulfillment() -> FulfillmentStats:
    hour = FulfillmentHour(hour=CLOCK.hour, fulfilled=1, failed=2, time_to_key_p50_seconds=1.5)
    nobody = WaitingOrders(count=0, items=[])
    return FulfillmentStats(hours=[hour], window=hour, failed=nobody, stuck=nobody)


def test_the_clock_gives_today_from_utc_midnight_and_a_week_of_hours() -> None:
    assert CLOCK.today == datetime(2026, 12, 6, tzinfo=UTC)
    hours = CLOCK.hours(168)
    assert (hours[0], hours[-1], len(set(hours))) == (CLOCK.week, CLOCK.hour, 168)


def test_a_period_sums_both_services_and_a_silent_one_leaves_its_figures_unknown() -> None:
    found = fulfillment()
    today = figures(CLOCK.today, payments(), found.hours, found.window, [])
    week = figures(CLOCK.week, payments(), found.hours, found.window, [])
    assert (today.placed, today.paid, today.fulfilled, today.failed) == (2, 1, 1, 2)
    assert (week.placed, week.failed, week.p50_seconds) == (7, 3, 1.5)
    silent = figures(CLOCK.today, payments(), None, None, None)
    assert (silent.placed, silent.fulfilled, silent.failed, silent.parked) == (2, None, None, None)


def test_needs_action_names_a_few_of_each_kind_and_links_to_all_of_them() -> None:
    ok = kinguin_balance(GatewayBalance(balance_eur="500", low=False, threshold_eur="100"))
    actions, more = needs_action(payments(flags=25), fulfillment(), [], ok)
    assert [a.href for a in actions] == [f"/admin/flags/{n}" for n in range(LISTED)]
    assert [(m.kind, m.count, m.href) for m in more] == [
        ("open flags", 25, "/admin/flags?status=open")
    ]
    low = kinguin_balance(GatewayBalance(balance_eur="5", low=True, threshold_eur="100"))
    first, _more = needs_action(None, None, None, low)
    assert [(a.kind, a.href) for a in first] == [("balance", "/admin/health")]
