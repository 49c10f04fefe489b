"""The home page's figures from what payments and fulfillment count (``GET
/internal/stats``), the dead letters and the Kinguin balance: today's and this week's
figures, the hourly series of the charts, and the "needs action" list. Pure rules; a
service that did not answer leaves its figures unknown (None), never zero."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import JsonValue

from bitloot_admin.domain.health import KinguinBalance
from bitloot_admin.domain.views import Upstream

HOUR = timedelta(hours=1)
# The charts' windows, in hours: the last day and the last week.
DAY_HOURS = 24
WEEK_HOURS = 7 * 24
# Items of each kind named in "needs action"; a link leads to all of them.
LISTED = 5


class PaymentHour(Upstream):
    hour: datetime
    placed: int = 0
    paid: int = 0
    failed: int = 0
    refunds_due: int = 0


class OpenItem(Upstream):
    id: int
    order_id: str | None = None
    kind: str
    at: datetime


class OpenItems(Upstream):
    count: int
    items: list[OpenItem]


class PaymentStats(Upstream):
    """Payments' ``GET /internal/stats``."""

    hours: list[PaymentHour]
    open_flags: OpenItems
    refunds_owed: OpenItems


class FulfillmentHour(Upstream):
    hour: datetime | None = None
    fulfilled: int = 0
    failed: int = 0
    time_to_key_p50_seconds: float | None = None
    time_to_key_p99_seconds: float | None = None


class WaitingOrder(Upstream):
    order_id: str
    state: str
    failure_stage: str | None = None
    since: datetime


class WaitingOrders(Upstream):
    count: int
    items: list[WaitingOrder]


class FulfillmentStats(Upstream):
    """Fulfillment's ``GET /internal/stats``."""

    hours: list[FulfillmentHour]
    window: FulfillmentHour
    failed: WaitingOrders
    stuck: WaitingOrders


@dataclass(frozen=True)
class Windows:
    """The home page's clock: now, the start of today (UTC) and of the week's hours."""

    now: datetime

    @property
    def hour(self) -> datetime:
        return self.now.replace(minute=0, second=0, microsecond=0)

    @property
    def today(self) -> datetime:
        return self.hour.replace(hour=0)

    @property
    def week(self) -> datetime:
        """The first of the last `WEEK_HOURS` hours (the current one included)."""
        return self.hour - (WEEK_HOURS - 1) * HOUR

    def hours(self, count: int) -> list[datetime]:
        return [self.hour - (count - 1 - n) * HOUR for n in range(count)]


@dataclass(frozen=True)
class Figures:
    """One period's figures; None: the service counting it did not answer."""

    placed: int | None
    paid: int | None
    fulfilled: int | None
    failed: int | None
    refunds_due: int | None
    parked: int | None
    p50_seconds: float | None
    p99_seconds: float | None


@dataclass(frozen=True)
class Series:
    """An hourly series for a chart: the hours, and each named line's values."""

    hours: list[datetime]
    lines: dict[str, list[float | None]]


@dataclass(frozen=True)
class Action:
    """One thing an operator should look at: what it is, why, and where to act on it."""

    kind: str
    title: str
    detail: str
    href: str
    at: datetime | None = None


@dataclass(frozen=True)
class MoreOf:
    """`count` items of a kind, fewer of them listed: where to see them all."""

    kind: str
    count: int
    href: str


def figures(
    since: datetime,
    payments: PaymentStats | None,
    hours: Sequence[FulfillmentHour] | None,
    window: FulfillmentHour | None,
    letters: Sequence[Mapping[str, JsonValue]] | None,
) -> Figures:
    """The figures from `since`: payments' and fulfillment's hours summed (fulfillment's
    percentiles come over the whole window, `window`), letters parked since then."""
    paid_hours = [h for h in payments.hours if h.hour >= since] if payments else None
    done_hours = [h for h in hours if h.hour and h.hour >= since] if hours is not None else None
    failed = None
    if paid_hours is not None and done_hours is not None:
        # Orders whose payment failed never reach fulfillment: the two never overlap.
        failed = sum(h.failed for h in paid_hours) + sum(h.failed for h in done_hours)
    return Figures(
        placed=_sum(paid_hours, "placed"),
        paid=_sum(paid_hours, "paid"),
        fulfilled=_sum(done_hours, "fulfilled"),
        failed=failed,
        refunds_due=_sum(paid_hours, "refunds_due"),
        parked=None if letters is None else sum(1 for x in letters if _parked_since(x, since)),
        p50_seconds=window.time_to_key_p50_seconds if window else None,
        p99_seconds=window.time_to_key_p99_seconds if window else None,
    )


def orders_series(
    hours: list[datetime], payments: PaymentStats | None, fulfillment: FulfillmentStats | None
) -> Series:
    """Orders placed and failed (at payment or in fulfillment) in each of `hours`."""
    placed = {h.hour: h.placed for h in payments.hours} if payments else None
    paid_failed = {h.hour: h.failed for h in payments.hours} if payments else {}
    done_failed = {h.hour: h.failed for h in fulfillment.hours if h.hour} if fulfillment else {}
    lines: dict[str, list[float | None]] = {}
    if placed is not None:
        lines["placed"] = [placed.get(hour, 0) for hour in hours]
    if payments or fulfillment:
        lines["failed"] = [paid_failed.get(hour, 0) + done_failed.get(hour, 0) for hour in hours]
    return Series(hours, lines)


def time_to_key_series(hours: list[datetime], fulfillment: FulfillmentStats | None) -> Series:
    """Time-to-key p50 and p99 (seconds) of the orders fulfilled in each of `hours`;
    None where none was."""
    if fulfillment is None:
        return Series(hours, {})
    by_hour = {h.hour: h for h in fulfillment.hours if h.hour}
    found = [by_hour.get(hour) for hour in hours]
    return Series(
        hours,
        {
            "p50": [h.time_to_key_p50_seconds if h else None for h in found],
            "p99": [h.time_to_key_p99_seconds if h else None for h in found],
        },
    )


def needs_action(
    payments: PaymentStats | None,
    fulfillment: FulfillmentStats | None,
    letters: Sequence[Mapping[str, JsonValue]] | None,
    balance: KinguinBalance,
) -> tuple[list[Action], list[MoreOf]]:
    """What an operator should act on, each linking to its admin page (the balance first,
    since every order fails while it is low), and where the ones not listed are."""
    actions: list[Action] = []
    more: list[MoreOf] = []
    if balance.state == "low" and balance.balance_eur is not None:
        threshold = f"{balance.threshold_eur:.2f}" if balance.threshold_eur is not None else "?"
        detail = f"{balance.balance_eur:.2f} EUR, below {threshold} EUR: top up Kinguin."
        actions.append(Action("balance", "Kinguin balance low", detail, "/admin/health"))
    if fulfillment is not None:
        actions += [_failed(order) for order in fulfillment.failed.items[:LISTED]]
        more.append(MoreOf("failed orders", fulfillment.failed.count, "/admin/sagas?state=failed"))
        actions += [_stuck(order) for order in fulfillment.stuck.items[:LISTED]]
        more.append(MoreOf("stuck orders", fulfillment.stuck.count, "/admin/sagas"))
    if payments is not None:
        actions += [_refund(item) for item in payments.refunds_owed.items[:LISTED]]
        more.append(MoreOf("refunds owed", payments.refunds_owed.count, "/admin/refunds"))
        actions += [_flag(item) for item in payments.open_flags.items[:LISTED]]
        more.append(MoreOf("open flags", payments.open_flags.count, "/admin/flags?status=open"))
    parked = [letter for letter in letters or () if not letter.get("replayed_at")]
    actions += [_letter(letter) for letter in parked[:LISTED]]
    if letters is not None:
        more.append(MoreOf("parked messages", len(parked), "/admin/dead-letters"))
    listed = {kind: sum(1 for a in actions if a.kind == kind) for kind in _KINDS.values()}
    return actions, [m for m in more if m.count > listed.get(_KINDS.get(m.kind, ""), 0)]


# The kind of `Action` each `MoreOf` counts.
_KINDS = {
    "failed orders": "failed",
    "stuck orders": "stuck",
    "refunds owed": "refund",
    "open flags": "flag",
    "parked messages": "parked",
}


def open_now(
    payments: PaymentStats | None,
    fulfillment: FulfillmentStats | None,
    letters: Sequence[Mapping[str, JsonValue]] | None,
) -> dict[str, int | None]:
    """What is open now, by kind; None where the service did not answer."""
    return {
        "open flags": payments.open_flags.count if payments else None,
        "refunds owed": payments.refunds_owed.count if payments else None,
        "parked messages": None
        if letters is None
        else sum(1 for x in letters if not x.get("replayed_at")),
        "stuck orders": fulfillment.stuck.count if fulfillment else None,
    }


def _sum(hours: Iterable[object] | None, name: str) -> int | None:
    if hours is None:
        return None
    return sum(int(getattr(hour, name)) for hour in hours)


def _parked_at(letter: Mapping[str, JsonValue]) -> datetime | None:
    raw = letter.get("parked_at")
    try:
        return datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        return None


def _parked_since(letter: Mapping[str, JsonValue], since: datetime) -> bool:
    parked = _parked_at(letter)
    return parked is not None and parked.astimezone(UTC) >= since


def _short(order_id: str | None) -> str:
    return order_id[:8] if order_id else "—"


def _failed(order: WaitingOrder) -> Action:
    stage = f" at {order.failure_stage}" if order.failure_stage else ""
    return Action(
        "failed",
        f"Order {_short(order.order_id)} failed{stage}",
        "Retry it, deliver its keys by hand, or refund it.",
        f"/admin/orders/{order.order_id}",
        order.since,
    )


def _stuck(order: WaitingOrder) -> Action:
    return Action(
        "stuck",
        f"Order {_short(order.order_id)} stuck in {order.state}",
        "No step for longer than its deadline: retry it.",
        f"/admin/orders/{order.order_id}",
        order.since,
    )


def _refund(item: OpenItem) -> Action:
    return Action(
        "refund",
        f"Refund #{item.id} {item.kind.replace('_', ' ')}",
        f"Owed for order {_short(item.order_id)}; nothing paid back yet.",
        f"/admin/refunds/{item.id}",
        item.at,
    )


def _flag(item: OpenItem) -> Action:
    return Action(
        "flag",
        f"Flag #{item.id}: {item.kind.replace('_', ' ')}",
        f"Payment of order {_short(item.order_id)} waits for a decision.",
        f"/admin/flags/{item.id}",
        item.at,
    )


def _letter(letter: Mapping[str, JsonValue]) -> Action:
    service, queue = letter.get("service"), letter.get("queue")
    return Action(
        "parked",
        f"Parked message {service} #{letter.get('id')}",
        f"{queue}: {letter.get('reason') or letter.get('error') or 'retries ran out'}",
        "/admin/dead-letters",
        _parked_at(letter),
    )
