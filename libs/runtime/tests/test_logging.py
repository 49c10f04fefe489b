import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from bitloot_runtime.logging import REDACTED, configure_logging, log_context, register_secret

logger = logging.getLogger("bitloot.test")
JWT = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJvcmRlciJ9.c2lnbmF0dXJl"


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("payments", "INFO", stream)
    yield stream
    configure_logging("payments", "INFO")


def entries(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_line_is_json_with_service_level_and_message(lines: io.StringIO) -> None:
    logger.warning("stock low", extra={"sku": "game-1"})
    [entry] = entries(lines)
    assert entry["service"] == "payments"
    assert entry["level"] == "WARNING"
    assert entry["message"] == "stock low"
    assert entry["sku"] == "game-1"


def test_order_id_bound_in_context_appears_in_every_line(lines: io.StringIO) -> None:
    with log_context(order_id="o-1", message_id="m-1", trace_id="t-1"):
        logger.info("one")
        logger.info("two")
    logger.info("outside")
    first, second, outside = entries(lines)
    assert first["order_id"] == second["order_id"] == "o-1"
    assert first["message_id"] == "m-1"
    assert "order_id" not in outside


async def test_context_is_isolated_between_tasks(lines: io.StringIO) -> None:
    async def work(order_id: str) -> None:
        with log_context(order_id=order_id):
            await asyncio.sleep(0.01)
            logger.info("done")

    await asyncio.gather(work("a"), work("b"))
    assert sorted(str(e["order_id"]) for e in entries(lines)) == ["a", "b"]


def test_jwt_bearer_and_signature_shapes_in_messages_are_redacted(lines: io.StringIO) -> None:
    signature = "ab" * 64
    logger.info("token %s sig %s auth Bearer abc.def", JWT, signature)
    [entry] = entries(lines)
    message = str(entry["message"])
    assert JWT not in message
    assert signature not in message
    assert "abc.def" not in message
    assert message.count(REDACTED) == 3


def test_secret_named_fields_are_redacted_recursively(lines: io.StringIO) -> None:
    headers = {"x-nowpayments-sig": "deadbeef", "X-Api-Key": "k-123", "content-type": "json"}
    logger.info("ipn", extra={"headers": headers, "keys": ["AAAA-BBBB"], "kinguin_order_id": "K1"})
    [entry] = entries(lines)
    assert entry["headers"] == {
        "x-nowpayments-sig": REDACTED,
        "X-Api-Key": REDACTED,
        "content-type": "json",
    }
    assert entry["keys"] == REDACTED
    assert entry["kinguin_order_id"] == "K1"


def test_registered_secret_is_redacted_wherever_it_appears(lines: io.StringIO) -> None:
    register_secret("ipn-secret-value-42")
    logger.info("config ipn-secret-value-42", extra={"detail": {"note": "x ipn-secret-value-42"}})
    [entry] = entries(lines)
    assert "ipn-secret-value-42" not in json.dumps(entry)


def test_private_key_block_in_an_exception_is_redacted(lines: io.StringIO) -> None:
    pem = "-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY-----"
    try:
        raise ValueError(pem)
    except ValueError:
        logger.exception("failed")
    [entry] = entries(lines)
    assert "MIIEv" not in json.dumps(entry)


def test_configuring_twice_does_not_duplicate_lines(lines: io.StringIO) -> None:
    configure_logging("payments", "INFO", lines)
    logger.info("once")
    assert len(entries(lines)) == 1


def test_service_runtime_registers_its_connection_passwords(lines: io.StringIO) -> None:
    from sqlalchemy import MetaData

    from bitloot_runtime.service import ServiceRuntime
    from bitloot_runtime.settings import ServiceSettings, load_settings

    settings = load_settings(
        ServiceSettings,
        database_url="postgresql+asyncpg://svc:db-password-1@127.0.0.1/x",
        amqp_url="amqp://svc:amqp-password-2@127.0.0.1:5672/",
    )
    ServiceRuntime(service="payments", settings=settings, metadata=MetaData())
    logger.error("cannot reach %s or %s", settings.database_url, settings.amqp_url)
    [entry] = [e for e in entries(lines) if str(e["message"]).startswith("cannot reach")]
    assert "@127.0.0.1" in str(entry["message"])
    assert "db-password-1" not in str(entry["message"])
    assert "amqp-password-2" not in str(entry["message"])
