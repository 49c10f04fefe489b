"""Payments' business metrics, scraped from its /metrics after real orders, IPNs and
refusals on the real database: each fact counted once, when it was committed."""

import json
import uuid
from datetime import timedelta

import httpx
from payments_support import ipn, new_order, send, set_order, settled
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func

from bitloot_runtime.service import ServiceRuntime

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: httpx.AsyncClient) -> Samples:
    answer = await client.get("/metrics")
    assert answer.status_code == 200
    assert "_created" not in answer.text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset({"service": "payments", **labels}.items())), 0.0)


async def test_an_order_placed_and_paid_is_counted_once_and_waits_as_paid_unfulfilled(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    before = await scrape(client)
    assert value(before, "bitloot_orders_placed_total") == 0
    assert value(before, "bitloot_orders_paid_unfulfilled") == 0
    assert value(before, "bitloot_oldest_paid_unfulfilled_seconds") == 0
    order_id = await new_order(client)
    await new_order(client)
    assert (await send(client, ipn(order_id, "finished"))).status_code == 200
    assert (await send(client, ipn(order_id, "finished"))).status_code == 200  # a repeat
    await settled(runtime)
    after = await scrape(client)
    assert value(after, "bitloot_orders_placed_total") == 2
    assert value(after, "bitloot_payments_finished_total") == 1
    assert value(after, "bitloot_orders_paid_unfulfilled") == 1
    assert value(after, "bitloot_oldest_paid_unfulfilled_seconds") >= 0
    outbound = {"peer": "nowpayments", "operation": "create_invoice", "outcome": "ok"}
    assert value(after, "bitloot_outbound_requests_total", **outbound) == 2
    http = {"method": "POST", "route": "/orders", "status": "201"}
    assert value(after, "bitloot_http_requests_total", **http) == 2
    assert value(after, "process_resident_memory_bytes") > 0
    assert value(after, "bitloot_db_pool_size") > 0
    for (_name, labels), _ in after.items():
        assert order_id not in {label for _, label in labels}


async def test_refused_ipns_are_counted_by_reason(client: httpx.AsyncClient) -> None:
    body = json.dumps(ipn(str(uuid.uuid4()), "finished")).encode()
    headers = {"content-type": "application/json"}
    forged = await client.post(
        "/payments/ipn", content=body, headers={**headers, "x-nowpayments-sig": "0" * 128}
    )
    unsigned = await client.post("/payments/ipn", content=body, headers=headers)
    garbled = await client.post(
        "/payments/ipn", content=b"{", headers={**headers, "x-nowpayments-sig": "0" * 128}
    )
    assert [forged.status_code, unsigned.status_code, garbled.status_code] == [401, 401, 400]
    after = await scrape(client)
    assert value(after, "bitloot_ipn_refused_total", reason="bad_signature") == 1
    assert value(after, "bitloot_ipn_refused_total", reason="missing_signature") == 1
    assert value(after, "bitloot_ipn_refused_total", reason="malformed_json") == 1


async def test_flags_raised_are_counted_by_kind(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    assert (await send(client, ipn(str(uuid.uuid4()), "finished"))).status_code == 200
    await settled(runtime)
    after = await scrape(client)
    flags = {
        dict(labels)["kind"]: count
        for (name, labels), count in after.items()
        if name == "bitloot_payment_flags_total"
    }
    assert flags == {"unknown_order": 1}


async def test_a_paid_order_fulfillment_never_started_ages_until_fulfillment_reports(
    client: httpx.AsyncClient, runtime: ServiceRuntime
) -> None:
    """payment.finished lost on the way: payments alone sees it, by the fulfilment state
    fulfillment never reported."""
    order_id = await new_order(client)
    assert (await send(client, ipn(order_id, "finished"))).status_code == 200
    await settled(runtime)
    await set_order(runtime, order_id, paid_at=func.now() - timedelta(minutes=10))
    unstarted = value(await scrape(client), "bitloot_oldest_paid_unstarted_seconds")
    assert 600 <= unstarted < 900
    await set_order(runtime, order_id, fulfilment_state="reserving")
    after = await scrape(client)
    assert value(after, "bitloot_oldest_paid_unstarted_seconds") == 0
    assert value(after, "bitloot_oldest_paid_unfulfilled_seconds") >= 600
