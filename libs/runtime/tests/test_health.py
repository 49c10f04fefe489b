import asyncio
import time
from collections.abc import Sequence

import httpx
from starlette.applications import Starlette
from starlette.routing import BaseRoute

from bitloot_runtime.health import NotReady, health_routes
from bitloot_runtime.metrics import RuntimeMetrics
from bitloot_testing.asgi import asgi_client


async def ok() -> None:
    return None


async def broken() -> None:
    raise ConnectionError("postgresql://user:hunter2@db/x refused")


async def slow() -> None:
    await asyncio.sleep(5)


async def ask(routes: Sequence[BaseRoute], path: str, method: str = "GET") -> httpx.Response:
    async with asgi_client(Starlette(routes=routes)) as http:
        return await http.request(method, path)


async def test_healthz_answers_without_checking_anything() -> None:
    response = await ask(
        health_routes({"database": broken}, RuntimeMetrics("payments")), "/healthz"
    )
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_healthz_is_503_naming_the_loops_that_stopped() -> None:
    ended: list[str] = []
    routes = health_routes({}, RuntimeMetrics("payments"), stopped=lambda: ended)
    async with asgi_client(Starlette(routes=routes)) as http:
        assert (await http.get("/healthz")).status_code == 200
        ended.append("payments-ipn-processor")
        response = await http.get("/healthz")
    assert (response.status_code, response.json()) == (
        503,
        {"status": "loops_stopped", "stopped": ["payments-ipn-processor"]},
    )


async def test_readyz_is_200_when_every_check_passes() -> None:
    response = await ask(
        health_routes({"database": ok, "broker": ok}, RuntimeMetrics("x")), "/readyz"
    )
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "broker": "ok"}}


async def test_readyz_reports_failing_check_with_503_without_its_message() -> None:
    checks = {"database": broken, "broker": slow}
    response = await ask(health_routes(checks, RuntimeMetrics("x"), timeout=0.2), "/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "status": "not_ready",
        "checks": {"database": "error: ConnectionError", "broker": "timeout"},
    }
    assert "hunter2" not in response.text


async def test_metrics_endpoint_exposes_counters_with_service_label() -> None:
    metrics = RuntimeMetrics("delivery")
    metrics.consumed.labels(queue="delivery.keys.delivered", outcome="ok").inc()
    refreshed: list[bool] = []

    async def refresh() -> None:
        refreshed.append(True)
        metrics.outbox_pending.set(7)

    response = await ask(health_routes({}, metrics, refresh=refresh), "/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    assert (
        'bitloot_messages_consumed_total{outcome="ok",queue="delivery.keys.delivered",'
        'service="delivery"} 1.0' in response.text
    )
    assert 'bitloot_outbox_pending{service="delivery"} 7.0' in response.text
    assert refreshed == [True]


async def test_failing_refresh_still_serves_metrics() -> None:
    response = await ask(health_routes({}, RuntimeMetrics("admin"), refresh=broken), "/metrics")
    assert response.status_code == 200
    assert 'service="admin"' in response.text


async def test_the_gauges_age_shows_when_the_refresh_fails() -> None:
    """A failed refresh serves the last values: their refresh time, which stops moving,
    is what lets an alert tell them stale."""
    failing = False

    async def refresh() -> None:
        if failing:
            await broken()

    metrics = RuntimeMetrics("admin")
    refreshed = "bitloot_gauges_refreshed_timestamp_seconds"
    app = Starlette(routes=health_routes({}, metrics, refresh=refresh))
    async with asgi_client(app) as http:
        await http.get("/metrics")
        first = metrics.registry.get_sample_value(refreshed, {"service": "admin"}) or 0.0
        assert first > time.time() - 60
        failing = True
        await asyncio.sleep(0.01)
        await http.get("/metrics")
    assert metrics.registry.get_sample_value(refreshed, {"service": "admin"}) == first


async def test_readyz_runs_checks_concurrently() -> None:
    async def half_second() -> None:
        await asyncio.sleep(0.5)

    checks = {"database": half_second, "broker": half_second, "store": half_second}
    response = await ask(health_routes(checks, RuntimeMetrics("x"), timeout=0.8), "/readyz")
    # Run one after another the three would take 1.5 s and the last would time out.
    assert response.json()["checks"] == {"database": "ok", "broker": "ok", "store": "ok"}


async def test_hanging_refresh_does_not_hang_the_scrape() -> None:
    app = Starlette(routes=health_routes({}, RuntimeMetrics("admin"), refresh=slow, timeout=0.2))
    async with asgi_client(app) as http:
        response = await asyncio.wait_for(http.get("/metrics"), 2)
    assert response.status_code == 200


async def test_health_routes_answer_get_only() -> None:
    response = await ask(health_routes({}, RuntimeMetrics("admin")), "/healthz", "POST")
    assert response.status_code == 405


async def test_readyz_reports_the_reason_a_check_gives_with_not_ready() -> None:
    async def blocked() -> None:
        raise NotReady("blocked")

    response = await ask(health_routes({"broker": blocked}, RuntimeMetrics("x")), "/readyz")
    assert (response.status_code, response.json()["checks"]) == (503, {"broker": "blocked"})
