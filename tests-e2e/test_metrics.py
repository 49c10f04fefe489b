"""Every service's /metrics, scraped before and after one real order through the five
processes and both sandboxes: the business counters moved by exactly one, the calls to
the providers and the HTTP requests were counted, the process series are there, no
``_created`` series is, and no label carries the order's id. A forged IPN and an
unsigned Kinguin webhook are counted as refused."""

import json
from collections.abc import Mapping

import httpx
import pytest
from five_processes import Running, Servers, wait_for
from prometheus_client.parser import text_string_to_metric_families
from shop import Shop, reveal

from bitloot_launch.wiring import SERVICES

PRODUCT_ID = "5c9b5f6b2539a4e8f172916a"
Labels = frozenset[tuple[str, str]]


class Scrape:
    """One service's exposition, parsed."""

    def __init__(self, service: str, text: str) -> None:
        self.service = service
        self.text = text
        self.samples: dict[tuple[str, Labels], float] = {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def value(self, name: str, **labels: str) -> float:
        """The sample `name` with exactly `labels` (and the service's), 0 if absent."""
        key = frozenset({"service": self.service, **labels}.items())
        return self.samples.get((name, key), 0.0)

    def total(self, name: str, **labels: str) -> float:
        """The sum of every `name` sample whose labels include `labels`."""
        wanted = set(labels.items())
        return sum(v for (n, found), v in self.samples.items() if n == name and wanted <= found)

    def label_values(self) -> set[str]:
        return {value for (_, labels) in self.samples for _, value in labels}


async def scrape_all(http: httpx.AsyncClient, running: Running) -> dict[str, Scrape]:
    scrapes = {}
    for service in SERVICES:
        answer = await http.get(f"{running.url[service]}/metrics")
        assert answer.status_code == 200, (service, answer.text)
        scrapes[service] = Scrape(service, answer.text)
    return scrapes


def moved(before: Mapping[str, Scrape], after: Mapping[str, Scrape]) -> dict[str, float]:
    """What the test expects to have moved, by how much."""

    def delta(service: str, name: str, **labels: str) -> float:
        return after[service].value(name, **labels) - before[service].value(name, **labels)

    def rose(service: str, name: str, **labels: str) -> float:
        return after[service].total(name, **labels) - before[service].total(name, **labels)

    return {
        "orders placed": delta("payments", "bitloot_orders_placed_total"),
        "payments finished": delta("payments", "bitloot_payments_finished_total"),
        "orders fulfilled": delta("fulfillment", "bitloot_orders_fulfilled_total"),
        "key emails accepted": delta(
            "delivery", "bitloot_emails_total", kind="delivery", outcome="accepted"
        ),
        "time to key observed": delta("delivery", "bitloot_time_to_key_seconds_count"),
        "reveals": delta("delivery", "bitloot_reveals_total", outcome="revealed"),
        "kinguin orders placed": delta(
            "kinguin-gateway", "bitloot_kinguin_orders_total", outcome="placed"
        ),
        "webhooks accepted": float(
            rose(
                "kinguin-gateway",
                "bitloot_kinguin_webhooks_total",
                event="order.status",
                outcome="accepted",
            )
            >= 1
        ),
        "calls to kinguin": float(
            rose("kinguin-gateway", "bitloot_outbound_requests_total", peer="kinguin", outcome="ok")
            >= 2
        ),
        "invoices created": delta(
            "payments",
            "bitloot_outbound_requests_total",
            peer="nowpayments",
            operation="create_invoice",
            outcome="ok",
        ),
        "orders posted": delta(
            "payments", "bitloot_http_requests_total", method="POST", route="/orders", status="201"
        ),
        "reveal pages": delta(
            "delivery",
            "bitloot_http_requests_total",
            method="GET",
            route="/keys/{token}",
            status="200",
        ),
    }


EXPECTED = {
    "orders placed": 1,
    "payments finished": 1,
    "orders fulfilled": 1,
    "key emails accepted": 1,
    "time to key observed": 1,
    "reveals": 1,
    "kinguin orders placed": 1,
    "webhooks accepted": 1,
    "calls to kinguin": 1,
    "invoices created": 1,
    "orders posted": 1,
    "reveal pages": 1,
}


@pytest.mark.slow
async def test_one_order_moves_every_services_metrics_by_one_and_labels_no_order(
    servers: Servers,
) -> None:
    async with servers.start() as running, httpx.AsyncClient(timeout=10) as http:
        shop = Shop(running, http, servers.smtp_inbox)
        await shop.seed({"hades": (PRODUCT_ID, "24.99", "20.00")})
        before = await scrape_all(http, running)
        for scrape in before.values():
            assert scrape.value("process_resident_memory_bytes") > 0, scrape.service
        order_id = await shop.place("buyer@example.com")

        async def delivered() -> bool:
            return len(servers.smtp_inbox.messages) >= 1

        await wait_for(delivered, "the key email")
        [mail] = servers.smtp_inbox.messages
        await reveal(http, mail)
        await shop.fulfilled(order_id, "order.fulfilled")
        after: dict[str, Scrape] = {}

        async def settled() -> bool:
            # Counted as each transaction commits, a moment after what the test saw.
            after.update(await scrape_all(http, running))
            return moved(before, after) == EXPECTED

        try:
            await wait_for(settled, "every metric moving", timeout=30)
        except AssertionError:
            assert moved(before, after) == EXPECTED  # names what did not move
        for service, scrape in after.items():
            assert scrape.value("process_resident_memory_bytes") > 0, service
            assert scrape.total("bitloot_http_requests_total") > before[service].total(
                "bitloot_http_requests_total"
            ), service
            assert "_created" not in scrape.text, service
            assert not [v for v in scrape.label_values() if order_id in v], service
        assert after["payments"].value("bitloot_orders_paid_unfulfilled") == 0
        assert after["fulfillment"].total("bitloot_sagas_open") == 0
        assert after["delivery"].value("bitloot_emails_unsent") == 0
        assert after["payments"].value("bitloot_db_pool_size") > 0


@pytest.mark.slow
async def test_a_forged_ipn_and_an_unsigned_kinguin_webhook_are_counted_as_refused(
    servers: Servers,
) -> None:
    async with servers.start() as running, httpx.AsyncClient(timeout=10) as http:
        before = await scrape_all(http, running)
        ipn = json.dumps({"payment_id": 1, "payment_status": "finished", "order_id": "x"})
        forged = await http.post(
            f"{running.url['payments']}/payments/ipn",
            content=ipn,
            headers={"content-type": "application/json", "x-nowpayments-sig": "00" * 64},
        )
        assert forged.status_code == 401, forged.text
        webhook = json.dumps(
            {"orderId": "K1", "status": "completed", "updatedAt": "2026-12-06T05:00:00+00:00"}
        )
        unsigned = await http.post(
            f"{running.url['kinguin-gateway']}/kinguin/webhooks",
            content=webhook,
            headers={"content-type": "application/json", "x-event-name": "order.status"},
        )
        assert unsigned.status_code == 401, unsigned.text
        after = await scrape_all(http, running)
    refused = ("bitloot_ipn_refused_total", {"reason": "bad_signature"})
    unauthenticated = (
        "bitloot_kinguin_webhooks_total",
        {"event": "order.status", "outcome": "unauthenticated"},
    )
    for service, (name, labels) in (("payments", refused), ("kinguin-gateway", unauthenticated)):
        rise = after[service].value(name, **labels) - before[service].value(name, **labels)
        assert rise == 1, (service, name)
