"""Each service as its own process: configured by its environment, migrated and ready,
reporting metrics, refusing bad settings by name, and stopping cleanly on SIGTERM."""

import base64
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import asyncpg
import httpx
import pytest

from bitloot_runtime import sealing, tokens
from bitloot_testing.net import free_port
from bitloot_testing.rabbitmq import BusNamespace


def required_settings() -> dict[str, str]:
    """Valid values for every service's own required settings (nothing is called here:
    providers, S3 and SMTP are only reached when an order needs them)."""
    private_hpke, public_hpke = sealing.generate_key_pair()
    kek = base64.b64encode(secrets.token_bytes(32)).decode()
    elsewhere = "http://127.0.0.1:9"  # the discard port: never called by these tests
    return {
        "PAYMENTS_NOWPAYMENTS_API_URL": elsewhere,
        "PAYMENTS_NOWPAYMENTS_API_KEY": secrets.token_urlsafe(16),
        "PAYMENTS_NOWPAYMENTS_IPN_SECRET": secrets.token_urlsafe(16),
        "PAYMENTS_PUBLIC_URL": elsewhere,
        "PAYMENTS_ORDER_TOKEN_PRIVATE_KEY": tokens.generate_key_pair()[0],
        "PAYMENTS_CLAIM_TOKEN_PUBLIC_KEYS": f"c1:{tokens.generate_key_pair()[1]}",
        "KINGUIN_GATEWAY_KINGUIN_API_URL": elsewhere,
        "KINGUIN_GATEWAY_KINGUIN_API_KEY": secrets.token_urlsafe(16),
        "KINGUIN_GATEWAY_WEBHOOK_SECRET": secrets.token_urlsafe(16),
        "KINGUIN_GATEWAY_DELIVERY_PUBLIC_KEY": public_hpke,
        "DELIVERY_HPKE_PRIVATE_KEYS": f"d1:{private_hpke}",
        "DELIVERY_KEK_CURRENT_ID": "k1",
        "DELIVERY_KEKS": f"k1:{kek}",
        "DELIVERY_S3_BUCKET": "bitloot-start-test",
        "DELIVERY_S3_ACCESS_KEY_ID": "unused",
        "DELIVERY_S3_SECRET_ACCESS_KEY": secrets.token_urlsafe(16),
        "DELIVERY_SMTP_HOST": "127.0.0.1",
        "DELIVERY_SMTP_PORT": "9",
        "DELIVERY_MAIL_FROM": "keys@bitloot.test",
        "DELIVERY_PUBLIC_URL": elsewhere,
        "DELIVERY_LINK_SECRET": secrets.token_urlsafe(32),
        "DELIVERY_CLAIM_TOKEN_PRIVATE_KEY": tokens.generate_key_pair()[0],
        "DELIVERY_REFUND_CLAIM_URL": elsewhere,
        "ADMIN_SESSION_PRIVATE_KEY": tokens.generate_key_pair()[0],
        "ADMIN_PAYMENTS_URL": elsewhere,
        "ADMIN_KINGUIN_GATEWAY_URL": elsewhere,
        "ADMIN_FULFILLMENT_URL": elsewhere,
        "ADMIN_DELIVERY_URL": elsewhere,
    }


SERVICES = [
    ("payments", "PAYMENTS", "bitloot_payments"),
    ("kinguin-gateway", "KINGUIN_GATEWAY", "bitloot_kinguin_gateway"),
    ("fulfillment", "FULFILLMENT", "bitloot_fulfillment"),
    ("delivery", "DELIVERY", "bitloot_delivery"),
    ("admin", "ADMIN", "bitloot_admin"),
]


def wait_until_ready(base_url: str, process: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"service exited early: {process.stderr.read() if process.stderr else ''}"
            )
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{base_url} not ready within {timeout} s")


@pytest.mark.slow
@pytest.mark.parametrize(("service", "prefix", "module"), SERVICES)
async def test_service_process_starts_ready_and_stops_on_sigterm(
    service: str,
    prefix: str,
    module: str,
    database_factory: Callable[[str], Awaitable[str]],
    bus_prefix: BusNamespace,
) -> None:
    database_url = await database_factory(service.replace("-", "_"))
    port = free_port()
    env = {
        **os.environ,
        **required_settings(),
        f"{prefix}_DATABASE_URL": database_url,
        f"{prefix}_AMQP_URL": bus_prefix.amqp_url,
        f"{prefix}_BUS_PREFIX": bus_prefix.prefix,
        f"{prefix}_HTTP_PORT": str(port),
        f"{prefix}_INTERNAL_TOKEN": "e2e-internal-token-0123456789",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", module],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base_url, process)
        assert httpx.get(f"{base_url}/healthz").json() == {"status": "ok"}
        ready = httpx.get(f"{base_url}/readyz").json()
        assert ready["checks"] == {"database": "ok", "broker": "ok", "outbox": "ok"}
        metrics = httpx.get(f"{base_url}/metrics").text
        assert f'service="{service}"' in metrics
        assert "bitloot_outbox_pending" in metrics
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
        bus_prefix.track_services([service])
    # uvicorn re-raises the signal once shutdown is complete, so the exit status says SIGTERM.
    assert process.returncode == -signal.SIGTERM, stderr
    assert "service stopped" in stderr
    assert "Application shutdown complete." in stderr
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        tables = {
            r["tablename"]
            for r in await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname='public'"
            )
        }
    finally:
        await connection.close()
    assert {"outbox", "inbox", "dead_letters"} <= tables


@pytest.mark.parametrize(("service", "prefix", "module"), SERVICES)
def test_service_refuses_to_start_naming_the_missing_variable(
    service: str, prefix: str, module: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(f"{prefix}_")}
    env[f"{prefix}_DATABASE_URL"] = "postgresql+asyncpg://postgres@127.0.0.1/unused"
    result = subprocess.run(
        [sys.executable, "-m", module],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert f"{prefix}_AMQP_URL: Field required" in result.stderr
