import json
import re
from collections.abc import Mapping

import pytest
from pydantic import ValidationError

from bitloot_contracts.events import EVENT_TYPES, Event, UnknownTopic, parse_event
from bitloot_contracts.topics import ORDER_FULFILLED, PAYMENT_FINISHED, TOPICS


def test_every_topic_has_a_model_published_on_it() -> None:
    assert tuple(EVENT_TYPES) == TOPICS
    for topic, model in EVENT_TYPES.items():
        assert model.topic == topic


def test_registry_cannot_be_changed_at_run_time() -> None:
    with pytest.raises(TypeError):
        EVENT_TYPES["x.y"] = Event  # type: ignore[index]


@pytest.mark.parametrize("topic", TOPICS)
def test_event_round_trips_through_parse_event(topic: str, samples: Mapping[str, Event]) -> None:
    event = samples[topic]
    parsed = parse_event(topic, event.model_dump_json().encode())
    assert type(parsed) is EVENT_TYPES[topic]
    assert parsed == event


def test_unknown_topic_is_named_in_the_error() -> None:
    with pytest.raises(
        UnknownTopic, match=re.escape("'payment.refunded' is not a BitLoot event")
    ) as raised:
        parse_event("payment.refunded", b"{}")
    assert raised.value.topic == "payment.refunded"


@pytest.mark.parametrize("body", [b"", b"not json", b"{", b"[]", b"null"])
def test_body_that_is_not_a_json_object_is_rejected(body: bytes) -> None:
    with pytest.raises(ValidationError):
        parse_event(ORDER_FULFILLED, body)


def test_invalid_utf8_is_rejected(samples: Mapping[str, Event]) -> None:
    body = samples[PAYMENT_FINISHED].model_dump_json().encode()
    corrupted = body.replace(b"5524759814", b"55\xff4759814")
    assert corrupted != body
    with pytest.raises(ValidationError, match="Invalid JSON"):
        parse_event(PAYMENT_FINISHED, corrupted)


def test_unknown_field_in_a_body_is_rejected(samples: Mapping[str, Event]) -> None:
    body = json.loads(samples[ORDER_FULFILLED].model_dump_json())
    body["gift_wrap"] = True
    with pytest.raises(ValidationError, match="gift_wrap"):
        parse_event(ORDER_FULFILLED, json.dumps(body).encode())


@pytest.mark.parametrize("version", [0, 2, "1"])
def test_other_schema_version_is_rejected(version: object, samples: Mapping[str, Event]) -> None:
    body = json.loads(samples[ORDER_FULFILLED].model_dump_json())
    body["schema_version"] = version
    with pytest.raises(ValidationError, match="schema_version"):
        parse_event(ORDER_FULFILLED, json.dumps(body).encode())


def test_body_of_another_topic_is_rejected(samples: Mapping[str, Event]) -> None:
    with pytest.raises(ValidationError):
        parse_event(ORDER_FULFILLED, samples[PAYMENT_FINISHED].model_dump_json().encode())
