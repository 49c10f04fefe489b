"""The home page: today's and the week's figures from payments' and fulfillment's
``/internal/stats``, what needs action (each linking to its page), and the charts drawn
on the server as inline SVG; a service that does not answer is named, never a 500."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from admin_support import StandIns


def this_hour() -> datetime:
    """The hour a test runs in, read when it runs: the page asks for windows ending now."""
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


FAILED_ORDER = "6f1c2d3e-0000-4000-8000-000000000001"
STUCK_ORDER = "6f1c2d3e-0000-4000-8000-000000000002"
FLAGGED_ORDER = "6f1c2d3e-0000-4000-8000-000000000003"


def payments_stats(hour: datetime) -> dict[str, Any]:
    """Three orders placed this hour and two three days ago; one failed at payment."""
    return {
        "since": (hour - timedelta(days=7)).isoformat(),
        "hours": [
            {
                "hour": (hour - timedelta(days=3)).isoformat(),
                "placed": 2,
                "paid": 2,
                "failed": 0,
                "refunds_due": 0,
            },
            {"hour": hour.isoformat(), "placed": 3, "paid": 2, "failed": 1, "refunds_due": 1},
        ],
        "open_flags": {
            "count": 1,
            "items": [
                {
                    "id": 7,
                    "order_id": FLAGGED_ORDER,
                    "kind": "partially_paid",
                    "at": hour.isoformat(),
                }
            ],
        },
        "refunds_owed": {
            "count": 1,
            "items": [{"id": 9, "order_id": FAILED_ORDER, "kind": "due", "at": hour.isoformat()}],
        },
    }


def fulfillment_stats(hour: datetime) -> dict[str, Any]:
    waiting = {
        "count": 1,
        "items": [
            {
                "order_id": FAILED_ORDER,
                "state": "failed",
                "failure_stage": "kinguin",
                "since": hour.isoformat(),
            }
        ],
    }
    stuck = {
        "count": 1,
        "items": [
            {
                "order_id": STUCK_ORDER,
                "state": "reserving",
                "failure_stage": None,
                "since": (hour - timedelta(hours=2)).isoformat(),
            }
        ],
    }
    figures = {
        "fulfilled": 2,
        "failed": 1,
        "time_to_key_p50_seconds": 1.7,
        "time_to_key_p99_seconds": 3.5,
    }
    return {
        "since": hour.isoformat(),
        "hours": [{"hour": hour.isoformat(), **figures}],
        "window": figures,
        "failed": waiting,
        "stuck": stuck,
    }


def figure(page: str, name: str, period: str) -> str:
    block = re.search(rf'data-figure="{name}".*?</div>', page, re.S)
    assert block, name
    found = re.search(rf'data-period="{period}">(?:7 days: )?(.*?)</span>', block.group(0), re.S)
    assert found, (name, period)
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


async def test_the_home_page_shows_figures_actions_and_svg_charts(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    hour = this_hour()
    stand_ins.stats = {"payments": payments_stats(hour), "fulfillment": fulfillment_stats(hour)}
    stand_ins.balance = {
        "balance_eur": "12.00",
        "low": True,
        "threshold_eur": "50",
        "read_at": hour.isoformat(),
    }
    stand_ins.dead_letters = {
        "delivery": [
            {
                "id": 4,
                "queue": "delivery.<q>",
                "reason": "poison",
                "parked_at": hour.isoformat(),
                "replayed_at": None,
            }
        ]
    }
    page = await browser.get("/admin/")
    assert page.status_code == 200
    text = page.text
    assert [figure(text, "placed", p) for p in ("today", "week")] == ["3", "5"]
    assert [figure(text, "paid", p) for p in ("today", "week")] == ["2", "4"]
    assert [figure(text, "fulfilled", p) for p in ("today", "week")] == ["2", "2"]
    # One failed at payment, one in fulfillment.
    assert figure(text, "failed", "today") == "2"
    assert figure(text, "refunds_due", "today") == "1"
    assert figure(text, "parked", "today") == "1"
    assert figure(text, "p50_seconds", "today") == "1.7 s"
    assert figure(text, "p99_seconds", "week") == "3.5 s"
    assert "12.00 EUR" in text
    assert "LOW" in text
    for href in (
        f"/admin/orders/{FAILED_ORDER}",
        f"/admin/orders/{STUCK_ORDER}",
        "/admin/refunds/9",
        "/admin/flags/7",
        "/admin/dead-letters",
        "/admin/health",
    ):
        assert f'href="{href}"' in text, href
    assert "delivery.&lt;q&gt;" in text
    # Each of the four charts drawn wide and narrow (the page shows the one that fits).
    assert text.count("<svg") == 8
    assert "<script" not in text.split("</header>")[1]
    assert "Incomplete" not in text
    since = [dict(q)["since"] for name, q in stand_ins.queries if name == "payments"]
    assert datetime.fromisoformat(since[-1]) == hour - timedelta(hours=167)


async def test_a_service_that_does_not_answer_is_named_and_its_figures_unknown(
    browser: httpx.AsyncClient, stand_ins: StandIns
) -> None:
    hour = this_hour()
    stand_ins.stats = {"payments": payments_stats(hour), "fulfillment": fulfillment_stats(hour)}
    stand_ins.failing.add("fulfillment")
    page = await browser.get("/admin/")
    assert page.status_code == 200
    assert "Incomplete: no answer from fulfillment" in page.text
    assert "kinguin-gateway" in page.text
    assert figure(page.text, "placed", "today") == "3"
    assert figure(page.text, "fulfilled", "today") == "—"
    assert page.text.count("<svg") == 8
    assert 'href="/admin/flags/7"' in page.text


async def test_login_lands_on_the_home_page_and_admin_leads_there(
    browser: httpx.AsyncClient,
) -> None:
    answer = await browser.get("/admin")
    assert (answer.status_code, answer.headers["location"]) == (303, "/admin/")
    page = await browser.get("/admin/")
    assert '<a href="/admin/">Home</a>' in page.text
