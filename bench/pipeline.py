"""Pipeline: finished payments injected on the bus, counted as they come out at the other end.

The injector publishes `payment.finished` events (the contracts' model, persistent,
confirmed, `mandatory`, with message id, correlation id and traceparent as the runtime
publishes them) to an exchange; a watcher queue bound to `order.fulfilled` and
`order.failed` on the same exchange sees each order finish. The same code measures the
real services (exchange `<prefix>bitloot.events`) and the null pipeline (its own exchange).
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from uuid import UUID, uuid4

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from bench.load import percentile, progress
from bench.stack import PRODUCT_ID
from bitloot_contracts.events import OrderLine, PaymentFinished
from bitloot_contracts.topics import ORDER_FAILED, ORDER_FULFILLED, PAYMENT_FINISHED
from bitloot_runtime.tracing import child_traceparent

LINE = OrderLine(sku="bench", kinguin_product_id=PRODUCT_ID, qty=1, max_unit_price=Decimal(9))


def recipient(order_id: UUID) -> str:
    """The customer address of an injected order: the SMTP acceptance names its order."""
    return f"{order_id}@bench.example"


@dataclass
class Outcomes:
    """When each injected order was published and finished (wall clock), and how."""

    published: dict[str, float] = field(default_factory=dict)
    finished: dict[str, float] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)

    def done(self, order_ids: list[str]) -> int:
        return sum(1 for order_id in order_ids if order_id in self.finished)


class Bus:
    """One connection: a confirming publisher and a watcher on `exchange_name`."""

    def __init__(self, amqp_url: str, exchange_name: str, watch_queue: str) -> None:
        self._url, self._exchange_name, self._watch_queue = amqp_url, exchange_name, watch_queue
        self.outcomes = Outcomes()

    async def __aenter__(self) -> "Bus":
        self._connection = await aio_pika.connect_robust(self._url)
        self._channel = await self._connection.channel(publisher_confirms=True)
        self._exchange = await self._channel.get_exchange(self._exchange_name)
        watcher = await self._connection.channel()
        await watcher.set_qos(prefetch_count=500)
        queue = await watcher.declare_queue(self._watch_queue, exclusive=True, auto_delete=True)
        for topic in (ORDER_FULFILLED, ORDER_FAILED):
            await queue.bind(self._exchange_name, routing_key=topic)
        await queue.consume(self._seen, no_ack=True)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._connection.close()

    async def _seen(self, message: AbstractIncomingMessage) -> None:
        order_id = message.correlation_id or ""
        if order_id not in self.outcomes.published:
            return  # an order of an earlier phase or of the ingress phase
        if message.routing_key == ORDER_FAILED:
            self.outcomes.failed.add(order_id)
        self.outcomes.finished.setdefault(order_id, time.time())

    async def inject(self) -> str:
        """Publish one finished payment; its order id."""
        order_id = uuid4()
        event = PaymentFinished(
            order_id=order_id, payment_id=f"bench-{order_id.hex[:12]}", amount=Decimal("12.50"),
            currency="usd", customer_email=recipient(order_id), lines=(LINE,),
        )  # fmt: skip
        self.outcomes.published[str(order_id)] = time.time()
        message = aio_pika.Message(
            event.model_dump_json().encode(),
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=str(event.event_id),
            correlation_id=str(order_id),
            content_type="application/json",
            headers={"traceparent": child_traceparent(None)},
        )
        await self._exchange.publish(message, routing_key=PAYMENT_FINISHED, mandatory=True)
        return str(order_id)


async def wait_all(bus: Bus, order_ids: list[str], name: str, limit: float = 240.0) -> None:
    deadline = time.monotonic() + limit
    while (done := bus.outcomes.done(order_ids)) < len(order_ids):
        if time.monotonic() > deadline:
            print(f"\n  {name}: {len(order_ids) - done} orders unfinished after {limit:g} s")
            return
        progress(f"{name}: {done}/{len(order_ids)} finished")
        await asyncio.sleep(0.5)


async def burst(bus: Bus, orders: int, name: str) -> dict[str, float]:
    """Inject `orders` at once (in confirmed batches); orders/s from the first publish to
    the last order finished."""
    start, order_ids = time.time(), []
    for first in range(0, orders, 100):
        order_ids += await asyncio.gather(*(bus.inject() for _ in range(min(100, orders - first))))
        progress(f"{name}: {len(order_ids)} injected, {bus.outcomes.done(order_ids)} finished")
    await wait_all(bus, order_ids, name)
    finished = [bus.outcomes.finished[o] for o in order_ids if o in bus.outcomes.finished]
    elapsed = (max(finished) - start) if finished else float("inf")
    failed = sum(1 for o in order_ids if o in bus.outcomes.failed)
    rate = (len(finished) - failed) / elapsed
    print(f"\r  {name}: {orders} orders, {rate:.1f}/s, {failed} failed".ljust(78), flush=True)
    return {"orders": orders, "orders_per_s": round(rate, 2), "failed": failed}


async def offered(
    bus: Bus, rate: float, seconds: float, accepted: Callable[[str], float | None], name: str
) -> dict[str, float]:
    """Inject at `rate` per second on schedule; time-to-key of each order from its publish
    to the SMTP server accepting its email (`accepted(order_id)`)."""
    total, start = max(1, int(rate * seconds)), time.time()
    tasks: list[asyncio.Task[str]] = []
    for index in range(total):
        planned = start + index / rate
        await asyncio.sleep(max(0.0, planned - time.time()))
        tasks.append(asyncio.create_task(bus.inject()))
        if index % max(1, int(rate)) == 0:
            progress(f"{name}: {index} injected")
    order_ids = list(await asyncio.gather(*tasks))
    await wait_all(bus, order_ids, name)
    for _ in range(40):  # the email is accepted just before delivery.completed is published
        if all(accepted(o) is not None for o in order_ids):
            break
        await asyncio.sleep(0.25)
    latencies = []
    for order_id in order_ids:
        at = accepted(order_id)
        if at is not None:
            latencies.append((at - bus.outcomes.published[order_id]) * 1000)
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    missing = total - len(latencies)
    summary = f"{total} orders at {rate:.1f}/s, time-to-key p50 {p50:.0f} ms p99 {p99:.0f} ms"
    print(f"\r  {name}: {summary}, {missing} without email".ljust(78), flush=True)
    return {"p50": round(p50, 1), "p99": round(p99, 1), "orders": total,
            "without_email": missing}  # fmt: skip
