from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

from bitloot_admin.domain.views import (
    OrderSummary,
    Saga,
    TimelineItem,
    merge_timelines,
    order_rows,
)

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def item(minutes: int, kind: str) -> TimelineItem:
    return TimelineItem(at=T0 + timedelta(minutes=minutes), kind=kind, summary=kind, data={})


def test_timelines_of_several_services_merge_oldest_first_tagged_with_their_service() -> None:
    merged = merge_timelines(
        {
            "payments": [item(0, "order_created"), item(5, "payment_finished")],
            "fulfillment": [item(2, "saga_started"), item(9, "fulfilled")],
        }
    )
    assert [(e.service, e.kind) for e in merged] == [
        ("payments", "order_created"),
        ("fulfillment", "saga_started"),
        ("payments", "payment_finished"),
        ("fulfillment", "fulfilled"),
    ]


def test_an_order_without_a_saga_has_no_fulfillment_state() -> None:
    with_saga, without = uuid4(), uuid4()
    orders = [
        OrderSummary(
            order_id=order_id,
            email="a@example.com",
            status="paid",
            total=Decimal("1"),
            currency="btc",
            created_at=T0,
        )
        for order_id in (with_saga, without)
    ]
    rows = order_rows(orders, [Saga(order_id=with_saga, state="delivering")])
    assert [row.fulfillment_state for row in rows] == ["delivering", None]
