import asyncio
import io
import json
import logging
import subprocess
import sys
from datetime import datetime, timedelta

import pytest
from runtime_support import SERVICE, log_entries

from bitloot_runtime.logging import (
    REDACTED,
    configure_logging,
    log_context,
    register_secret,
)

logger = logging.getLogger("bitloot.test")
JWT = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJvcmRlciJ9.c2lnbmF0dXJl"


def bound(entry: dict[str, object]) -> dict[str, object]:
    """The fields of a line that `log_context` binds in these tests."""
    return {key: entry[key] for key in ("order_id", "message_id", "trace_id") if key in entry}


def test_each_line_is_json_with_service_level_and_message(lines: io.StringIO) -> None:
    logger.warning("stock low", extra={"sku": "game-1"})
    [entry] = log_entries(lines)
    assert entry["service"] == SERVICE
    assert entry["level"] == "WARNING"
    assert entry["message"] == "stock low"
    assert entry["sku"] == "game-1"


def test_order_id_bound_in_context_appears_in_every_line(lines: io.StringIO) -> None:
    with log_context(order_id="o-1", message_id="m-1", trace_id="t-1"):
        logger.info("one")
        logger.info("two")
    logger.info("outside")
    first, second, outside = log_entries(lines)
    assert first["order_id"] == second["order_id"] == "o-1"
    assert first["message_id"] == "m-1"
    assert "order_id" not in outside


async def test_context_is_isolated_between_tasks(lines: io.StringIO) -> None:
    async def work(order_id: str) -> None:
        with log_context(order_id=order_id):
            await asyncio.sleep(0.01)
            logger.info("done")

    await asyncio.gather(work("a"), work("b"))
    assert sorted(str(e["order_id"]) for e in log_entries(lines)) == ["a", "b"]


async def test_context_bound_in_a_task_does_not_leak_to_its_parent(lines: io.StringIO) -> None:
    async def work() -> None:
        with log_context(message_id="child"):
            await asyncio.sleep(0)
            logger.info("inside")

    with log_context(order_id="parent"):
        await asyncio.create_task(work())
        logger.info("after")
    inside, after = log_entries(lines)
    assert bound(after) == {"order_id": "parent"}
    assert bound(inside) == {"order_id": "parent", "message_id": "child"}


def test_nested_contexts_add_fields_and_restore_on_exit(lines: io.StringIO) -> None:
    with log_context(order_id="o-1", trace_id=None):
        with log_context(message_id="m-1"):
            logger.info("inner")
        logger.info("outer")
    logger.info("outside")
    inner, outer, outside = log_entries(lines)
    assert bound(inner) == {"order_id": "o-1", "message_id": "m-1"}
    assert bound(outer) == {"order_id": "o-1"}
    assert bound(outside) == {}


def test_explicit_extra_wins_over_bound_context_but_not_over_fixed_fields(
    lines: io.StringIO,
) -> None:
    with log_context(order_id="bound"):
        logger.info("hi", extra={"order_id": "explicit", "service": "spoofed", "level": "X"})
    [entry] = log_entries(lines)
    assert (entry["order_id"], entry["service"], entry["level"]) == (
        "explicit",
        SERVICE,
        "INFO",
    )


def test_timestamp_is_iso_8601_utc(lines: io.StringIO) -> None:
    logger.info("now")
    [entry] = log_entries(lines)
    stamp = datetime.fromisoformat(str(entry["timestamp"]))
    assert stamp.utcoffset() == timedelta(0)
    assert entry["logger"] == "bitloot.test"


def test_exception_is_written_as_a_string_field(lines: io.StringIO) -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.exception("failed")
    [entry] = log_entries(lines)
    assert isinstance(entry["exception"], str)
    assert "RuntimeError: boom" in entry["exception"]


def test_jwt_in_message_is_redacted(lines: io.StringIO) -> None:
    logger.info(f"reveal link token={JWT}&x=1")
    [entry] = log_entries(lines)
    assert entry["message"] == f"reveal link token={REDACTED}&x=1"


def test_jwt_bearer_and_signature_shapes_in_messages_are_redacted(lines: io.StringIO) -> None:
    signature = "ab" * 64
    logger.info("token %s sig %s auth Bearer abc.def", JWT, signature)
    [entry] = log_entries(lines)
    message = str(entry["message"])
    assert JWT not in message
    assert signature not in message
    assert "abc.def" not in message
    assert message.count(REDACTED) == 3


def test_secret_named_fields_are_redacted_recursively(lines: io.StringIO) -> None:
    headers = {"x-nowpayments-sig": "deadbeef", "X-Api-Key": "k-123", "content-type": "json"}
    logger.info("ipn", extra={"headers": headers, "keys": ["AAAA-BBBB"], "kinguin_order_id": "K1"})
    [entry] = log_entries(lines)
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
    [entry] = log_entries(lines)
    assert "ipn-secret-value-42" not in json.dumps(entry)


def test_registered_secret_is_redacted_in_extra_fields(lines: io.StringIO) -> None:
    register_secret("kinguin-api-key-77")
    logger.info("call", extra={"request": {"url": "/v1/order?k=kinguin-api-key-77"}})
    [entry] = log_entries(lines)
    assert entry["request"] == {"url": f"/v1/order?k={REDACTED}"}


def test_percent_encoded_form_of_a_registered_password_is_redacted(lines: io.StringIO) -> None:
    register_secret("p@ss/word!9")
    logger.info("user:p%40ss%2Fword%219 and p@ss/word!9")
    [entry] = log_entries(lines)
    assert entry["message"] == f"user:{REDACTED} and {REDACTED}"


def test_registered_values_shorter_than_six_characters_are_ignored(lines: io.StringIO) -> None:
    register_secret("abc")
    logger.info("abc order")
    [entry] = log_entries(lines)
    assert entry["message"] == "abc order"


def test_identifiers_are_not_mistaken_for_secrets(lines: io.StringIO) -> None:
    ids = {
        "order_id": "o-1",
        "message_id": "m-1",
        "trace_id": "t-1",
        "kinguin_order_id": "K-1",
        "key_id": "kek-2026",
        "key_count": 3,
    }
    logger.info("delivered", extra=ids)
    [entry] = log_entries(lines)
    assert {k: entry[k] for k in ids} == ids


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "PASSWD",
        "api_key",
        "apiKey",
        "Authorization",
        "cookie",
        "x-event-secret",
        "X-KINGUIN-SIGNATURE",
        "sig",
        "private_key",
        "kek",
        "data_key",
        "plaintext",
        "key_material",
        "reveal_token",
    ],
)
def test_values_under_secret_names_are_redacted(lines: io.StringIO, key: str) -> None:
    logger.info("x", extra={"payload": {key: "value-1", "nested": [{key: {"deep": 1}}]}})
    [entry] = log_entries(lines)
    assert entry["payload"] == {key: REDACTED, "nested": [{key: REDACTED}]}


def test_absent_signature_stays_visible_as_null(lines: io.StringIO) -> None:
    logger.info("ipn", extra={"headers": {"x-nowpayments-sig": None}})
    [entry] = log_entries(lines)
    assert entry["headers"] == {"x-nowpayments-sig": None}


def test_password_in_a_url_is_redacted(lines: io.StringIO) -> None:
    logger.info("connect amqp://bitloot:s3cr%2Ft@rabbit:5672/ then http://x/a?mail=a@b.c")
    [entry] = log_entries(lines)
    assert entry["message"] == (
        f"connect amqp://bitloot:{REDACTED}@rabbit:5672/ then http://x/a?mail=a@b.c"
    )


def test_bytes_and_objects_in_extra_fields_are_redacted_as_text(lines: io.StringIO) -> None:
    class Event:
        def __str__(self) -> str:
            return f"Event(token in body {JWT})"

    logger.info("x", extra={"body": f"Bearer {JWT}".encode(), "event": Event()})
    [entry] = log_entries(lines)
    assert entry["body"] == f"Bearer {REDACTED}"
    assert entry["event"] == f"Event(token in body {REDACTED})"


def test_truncated_private_key_is_redacted_to_the_end(lines: io.StringIO) -> None:
    logger.info("loaded -----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI")
    [entry] = log_entries(lines)
    assert entry["message"] == f"loaded {REDACTED}"


def test_private_key_block_in_an_exception_is_redacted(lines: io.StringIO) -> None:
    pem = "-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY-----"
    try:
        raise ValueError(pem)
    except ValueError:
        logger.exception("failed")
    [entry] = log_entries(lines)
    assert "MIIEv" not in json.dumps(entry)


def test_configuring_twice_does_not_duplicate_lines(lines: io.StringIO) -> None:
    configure_logging("payments", "INFO", lines)
    logger.info("once")
    assert len(log_entries(lines)) == 1


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
    [entry] = [e for e in log_entries(lines) if str(e["message"]).startswith("cannot reach")]
    assert "@127.0.0.1" in str(entry["message"])
    assert "db-password-1" not in str(entry["message"])
    assert "amqp-password-2" not in str(entry["message"])


def test_arguments_that_do_not_fit_the_format_still_log_a_redacted_line(
    lines: io.StringIO,
) -> None:
    logger.info("count %d", JWT)
    [entry] = log_entries(lines)
    assert str(entry["message"]).startswith("count %d")
    assert JWT not in json.dumps(entry)


def test_a_value_that_cannot_be_printed_does_not_break_logging(lines: io.StringIO) -> None:
    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("no")

    cyclic: list[object] = []
    cyclic.append(cyclic)
    logger.info("odd", extra={"thing": Unprintable(), "cyclic": cyclic})
    [entry] = log_entries(lines)
    assert entry["thing"] == "<unprintable Unprintable>"
    assert entry["message"] == "odd"


def test_handlers_after_ours_see_the_redacted_record(lines: io.StringIO) -> None:
    class Collector(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    seen: list[logging.LogRecord] = []
    collector = Collector()
    logging.getLogger().addHandler(collector)
    try:
        logger.info("token %s", JWT, extra={"password": "hunter2-x"})
    finally:
        logging.getLogger().removeHandler(collector)
    [record] = seen
    assert record.getMessage() == f"token {REDACTED}"
    assert record.__dict__["password"] == REDACTED


def test_client_libraries_are_quiet_unless_debug() -> None:
    stream = io.StringIO()
    try:
        configure_logging("payments", "info", stream)
        assert logging.getLogger("aiormq").getEffectiveLevel() == logging.WARNING
        assert logging.getLogger().level == logging.INFO
        configure_logging("payments", "DEBUG", stream)
        assert logging.getLogger("aio_pika").getEffectiveLevel() == logging.DEBUG
    finally:
        configure_logging("payments", "INFO")


def test_unknown_level_is_rejected_naming_it() -> None:
    with pytest.raises(ValueError, match="'LOUD'"):
        configure_logging("payments", "LOUD")


def test_registering_only_short_values_redacts_nothing() -> None:
    # A fresh process: the secrets registered by the other tests must not hide the bug.
    script = (
        "import logging, sys\n"
        "from bitloot_runtime.logging import configure_logging, register_secret\n"
        "configure_logging('widgets', 'INFO', sys.stdout)\n"
        "register_secret('guest')\n"
        "logging.getLogger('x').info('service started')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=30
    )
    assert json.loads(result.stdout)["message"] == "service started"
