"""Helpers of the fulfillment tests: publishing events as their producers would."""

from decimal import Decimal
from uuid import UUID

from bitloot_contracts.events import Event, PaymentFinished
from bitloot_contracts.events.payment import OrderLine
from bitloot_runtime.service import ServiceRuntime

INTERNAL_TOKEN = "fulfillment-test-internal-token"


async def publish(runtime: ServiceRuntime, event: Event) -> None:
    await runtime.publisher.publish(event)


def payment(order_id: UUID) -> PaymentFinished:
    line = OrderLine(sku="g-1", kinguin_product_id="5c9b", qty=1, max_unit_price=Decimal("9"))
    return PaymentFinished(
        order_id=order_id,
        payment_id="np-1",
        amount=Decimal("12.50"),
        currency="usdttrc20",
        customer_email="buyer@example.com",
        lines=(line,),
    )
