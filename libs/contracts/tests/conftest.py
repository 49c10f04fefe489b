"""A valid event of every topic, for the tests that need one of each."""

import base64
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from bitloot_contracts.events import (
    DeliveryCompleted,
    DeliveryFailed,
    Event,
    KeysDelivered,
    KeysRequested,
    KeysRevoked,
    KinguinWebhook,
    OrderDelayed,
    OrderFailed,
    OrderFulfilled,
    OrderLine,
    OrderStatusChanged,
    PaymentFinished,
    PaymentStatusChanged,
    ProductAvailabilityChanged,
    ProductListed,
    RefundClaimLinkRequested,
    RefundStatusChanged,
    ReservationCreated,
    ReservationFailed,
    ReservationLine,
    ReservationPoll,
    ReservationRequested,
    SealedKeys,
)

KINGUIN_ORDER_ID = "PHS84FJAG5U"
PRODUCT_ID = "5c9b5f6b2539a4e8f172916d"
EMAIL = "buyer@example.com"
SUITE = "DHKEM(X25519)-HKDF-SHA256/HKDF-SHA256/AES-256-GCM"


def _payment_events(order_id: UUID) -> tuple[Event, ...]:
    line = OrderLine(
        sku="elden-ring-pc",
        kinguin_product_id=PRODUCT_ID,
        qty=2,
        max_unit_price=Decimal("39.90"),
    )
    return (
        PaymentStatusChanged(
            order_id=order_id,
            payment_id="5524759814",
            status="confirming",
            previous_status="waiting",
        ),
        PaymentFinished(
            order_id=order_id,
            payment_id="5524759814",
            amount=Decimal("0.00123"),
            currency="btc",
            customer_email=EMAIL,
            lines=(line,),
        ),
    )


def _kinguin_events(order_id: UUID) -> tuple[Event, ...]:
    line = ReservationLine(kinguin_product_id=PRODUCT_ID, qty=2, max_unit_price=Decimal("39.90"))
    sealed = SealedKeys(
        suite=SUITE,
        recipient_key_id="delivery-2024-05",
        enc=base64.b64encode(bytes(range(32))).decode(),
        ciphertext=base64.b64encode(b"sealed keys and their tag").decode(),
    )
    return (
        ReservationRequested(order_id=order_id, lines=(line,)),
        ReservationPoll(order_id=order_id, kinguin_order_id=KINGUIN_ORDER_ID, attempt=2),
        ReservationCreated(
            order_id=order_id, kinguin_order_id=KINGUIN_ORDER_ID, status="processing"
        ),
        ReservationFailed(order_id=order_id, code="out_of_stock", reason="No offer under 39.90."),
        KinguinWebhook(
            order_id=order_id,
            kinguin_order_id=KINGUIN_ORDER_ID,
            status="completed",
            updated_at=datetime(2024, 5, 1, 12, 30, tzinfo=UTC),
        ),
        KeysRequested(order_id=order_id, kinguin_order_id=KINGUIN_ORDER_ID, customer_email=EMAIL),
        KeysDelivered(
            order_id=order_id,
            kinguin_order_id=KINGUIN_ORDER_ID,
            customer_email=EMAIL,
            key_count=2,
            sealed=sealed,
        ),
    )


def _delivery_and_order_events(order_id: UUID) -> tuple[Event, ...]:
    return (
        DeliveryCompleted(order_id=order_id, key_count=2, email_sent=True),
        DeliveryFailed(order_id=order_id, code="object_store_unavailable", reason="R2 timed out."),
        OrderStatusChanged(order_id=order_id, status="reserving", previous_status="paid"),
        OrderFulfilled(order_id=order_id, key_count=2),
        OrderFailed(order_id=order_id, stage="reserving", reason="Out of stock at Kinguin."),
        OrderDelayed(
            order_id=order_id,
            customer_email=EMAIL,
            is_preorder=True,
            release_date=date(2027, 3, 1),
        ),
    )


def _refund_events(order_id: UUID) -> tuple[Event, ...]:
    return (
        KeysRevoked(order_id=order_id, key_count=1, revoked_by="alice", note="Never revealed."),
        RefundStatusChanged(
            order_id=order_id,
            refund_id=7,
            status="sent",
            previous_status="sending",
            reason="order_failed",
            cause="out_of_stock",
            amount=Decimal("0.00123400"),
            currency="btc",
            customer_email=EMAIL,
            transaction_id="0x9f2c",
        ),
        RefundClaimLinkRequested(order_id=order_id, refund_id=7, customer_email=EMAIL),
    )


def _catalog_events() -> tuple[Event, ...]:
    return (
        ProductListed(kinguin_product_id=PRODUCT_ID, active=True),
        ProductAvailabilityChanged(
            kinguin_product_id=PRODUCT_ID,
            qty=845,
            price=Decimal("2.50"),
            is_preorder=False,
            release_date="2004-11-01",
            observed_at=datetime(2020, 10, 16, 11, 24, 8, tzinfo=UTC),
        ),
    )


@pytest.fixture
def samples() -> Mapping[str, Event]:
    """One valid event per topic, all about the same order but those about a product."""
    order_id = uuid4()
    events = (
        *_payment_events(order_id),
        *_kinguin_events(order_id),
        *_delivery_and_order_events(order_id),
        *_refund_events(order_id),
        *_catalog_events(),
    )
    return {event.topic: event for event in events}
