"""HTTP server metrics on a real Starlette app: requests by route template, method and
status, their latency, and the requests in flight."""

import pytest
from sqlalchemy import MetaData
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.types import Message, Receive, Scope, Send

from bitloot_runtime.app import create_app
from bitloot_runtime.http_metrics import HttpMetricsMiddleware
from bitloot_runtime.metrics import RuntimeMetrics
from bitloot_runtime.service import ServiceRuntime
from bitloot_runtime.settings import ServiceSettings, load_settings
from bitloot_testing.asgi import asgi_client


async def ok(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


async def conflict(_request: Request) -> PlainTextResponse:
    return PlainTextResponse("no", status_code=409)


async def broken(_request: Request) -> PlainTextResponse:
    raise RuntimeError("a bug")


def metered_app(metrics: RuntimeMetrics) -> Starlette:
    routes = [
        Route("/orders/{order_id}", ok, methods=["GET", "POST", "PURGE"]),
        Route("/orders/{order_id}/refund", conflict, methods=["POST"]),
        Route("/broken", broken),
        Mount("/admin", routes=[Route("/orders/{order_id}", ok)]),
    ]
    app = Starlette(routes=routes)
    app.add_middleware(HttpMetricsMiddleware, metrics=metrics.http)
    return app


def value(metrics: RuntimeMetrics, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, {"service": "payments", **labels})
    return found or 0.0


async def test_requests_are_counted_by_template_method_and_status() -> None:
    metrics = RuntimeMetrics("payments")
    async with asgi_client(metered_app(metrics)) as http:
        await http.get("/orders/7f3a")
        await http.get("/orders/9b2c")
        await http.post("/orders/7f3a/refund")
        await http.get("/admin/orders/1")
        await http.get("/wp-login.php")
    requests = "bitloot_http_requests_total"
    assert value(metrics, requests, method="GET", route="/orders/{order_id}", status="200") == 2
    refund = {"method": "POST", "route": "/orders/{order_id}/refund", "status": "409"}
    assert value(metrics, requests, **refund) == 1
    admin = {"method": "GET", "route": "/admin/orders/{order_id}", "status": "200"}
    assert value(metrics, requests, **admin) == 1
    assert value(metrics, requests, method="GET", route="unmatched", status="404") == 1
    histogram = "bitloot_http_request_duration_seconds_count"
    assert value(metrics, histogram, method="GET", route="/orders/{order_id}") == 2
    text = metrics.render()[0].decode()
    for path_part in ("7f3a", "9b2c", "wp-login"):
        assert path_part not in text


async def test_methods_outside_the_standard_set_count_as_other() -> None:
    metrics = RuntimeMetrics("payments")
    async with asgi_client(metered_app(metrics)) as http:
        await http.request("PURGE", "/orders/1")
    labels = {"method": "other", "route": "/orders/{order_id}", "status": "200"}
    assert value(metrics, "bitloot_http_requests_total", **labels) == 1
    assert "PURGE" not in metrics.render()[0].decode()


async def test_a_request_whose_handler_raised_counts_as_500_and_leaves_flight() -> None:
    metrics = RuntimeMetrics("payments")
    async with asgi_client(metered_app(metrics), raise_app_exceptions=False) as http:
        assert (await http.get("/broken")).status_code == 500
    labels = {"method": "GET", "route": "/broken", "status": "500"}
    assert value(metrics, "bitloot_http_requests_total", **labels) == 1
    assert value(metrics, "bitloot_http_requests_in_flight") == 0


async def test_a_request_is_in_flight_while_it_is_handled() -> None:
    metrics = RuntimeMetrics("payments")
    seen: list[float] = []

    async def look(_request: Request) -> PlainTextResponse:
        seen.append(value(metrics, "bitloot_http_requests_in_flight"))
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/look", look)])
    app.add_middleware(HttpMetricsMiddleware, metrics=metrics.http)
    async with asgi_client(app) as http:
        await http.get("/look")
    assert seen == [1]
    assert value(metrics, "bitloot_http_requests_in_flight") == 0


async def test_websocket_connections_are_passed_through_uncounted() -> None:
    metrics = RuntimeMetrics("payments")
    seen: list[str] = []

    async def app(scope: Scope, _receive: Receive, _send: Send) -> None:
        seen.append(scope["type"])

    async def nothing() -> Message:
        return {"type": "websocket.disconnect"}

    async def ignore(_message: Message) -> None:
        return None

    scope = {"type": "websocket", "path": "/live", "headers": []}
    await HttpMetricsMiddleware(app, metrics.http)(scope, nothing, ignore)
    assert seen == ["websocket"]
    assert "bitloot_http_requests_total{" not in metrics.render()[0].decode()


@pytest.fixture
def runtime() -> ServiceRuntime:
    settings = load_settings(
        ServiceSettings,
        database_url="postgresql+asyncpg://svc@127.0.0.1/unused",
        amqp_url="amqp://svc@127.0.0.1:5672/",
    )
    return ServiceRuntime(service="payments", settings=settings, metadata=MetaData())


async def test_every_service_app_counts_its_requests_even_those_refused(
    runtime: ServiceRuntime,
) -> None:
    app = create_app(runtime, [Route("/orders/{order_id}", ok)], internal_tokens=["t" * 32])
    async with asgi_client(app) as http:
        await http.get("/orders/1")
        assert (await http.get("/internal/dead-letters")).status_code == 401
    metrics = runtime.metrics
    assert (
        value(
            metrics,
            "bitloot_http_requests_total",
            method="GET",
            route="/orders/{order_id}",
            status="200",
        )
        == 1
    )
    assert (
        value(metrics, "bitloot_http_requests_total", method="GET", route="unmatched", status="401")
        == 1
    )
