from collections.abc import Mapping
from datetime import UTC, datetime

from bitloot_runtime.delivery import ATTEMPT_HEADER, FIRST_FAILURE_HEADER, TOPIC_HEADER, Delivery


def delivery(headers: Mapping[str, object], **overrides: object) -> Delivery:
    values: dict[str, object] = {
        "queue": "svc.widget.made",
        "routing_key": "widget.made",
        "body": b"{}",
        "message_id": "m-1",
        "correlation_id": "order-1",
        "headers": headers,
    }
    values.update(overrides)
    return Delivery.from_amqp(**values)  # type: ignore[arg-type]


def test_first_delivery_is_attempt_one_on_its_routing_key() -> None:
    received = delivery({})
    assert (received.attempt, received.topic, received.first_failed_at) == (1, "widget.made", None)


def test_retry_headers_count_attempts_and_keep_the_first_failure_time() -> None:
    first_failure = datetime(2026, 1, 1, tzinfo=UTC)
    retried = delivery(
        delivery({}).next_attempt_headers(first_failure), routing_key="svc.widget.made"
    )
    again = delivery(retried.next_attempt_headers(datetime.now(UTC)), routing_key="svc.widget.made")
    assert (retried.attempt, again.attempt) == (2, 3)
    assert again.first_failed_at == first_failure
    # Retries arrive with the queue as routing key; the topic survives in a header.
    assert again.topic == "widget.made"


def test_broker_death_headers_are_dropped_and_others_made_json_safe() -> None:
    received = delivery(
        {
            "x-death": [{"count": 1, "time": datetime.now(UTC)}],
            "x-first-death-queue": "svc.delay.1000ms",
            "x-delivery-count": 0,
            "traceparent": b"00-abc",
            "custom": 5,
        }
    )
    assert received.headers == {"traceparent": "00-abc", "custom": "5"}


def test_hostile_bookkeeping_headers_fall_back_to_safe_values() -> None:
    received = delivery({ATTEMPT_HEADER: "-3", FIRST_FAILURE_HEADER: "yesterday"})
    assert (received.attempt, received.first_failed_at) == (1, None)


def test_message_without_id_is_identified_by_its_content() -> None:
    one = delivery({}, message_id=None)
    two = delivery({}, message_id=None)
    other = delivery({}, message_id=None, body=b"[]")
    assert one.message_id == two.message_id != other.message_id


def test_replayed_message_starts_again_at_attempt_one() -> None:
    parked = delivery({ATTEMPT_HEADER: "6", FIRST_FAILURE_HEADER: "2026-01-01T00:00:00+00:00"})
    replayed = parked.as_replayed()
    assert replayed.attempt == 1
    assert replayed.headers[ATTEMPT_HEADER] == "1"
    assert FIRST_FAILURE_HEADER not in replayed.headers
    assert replayed.headers[TOPIC_HEADER] == "widget.made"
