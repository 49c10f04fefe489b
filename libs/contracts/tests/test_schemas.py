import json
from collections.abc import Mapping
from typing import ClassVar, Literal

import pytest

from bitloot_contracts.events import ENVELOPE_FIELDS, EVENT_TYPES, Event
from bitloot_contracts.schemas import (
    JSON_SCHEMA_DIALECT,
    event_schema,
    render,
    schema_filename,
)
from bitloot_contracts.topics import PAYMENT_FINISHED, TOPICS


class ThingHappenedV2(Event):
    topic: ClassVar[str] = "thing.happened"
    schema_version: Literal[2] = 2


@pytest.mark.parametrize("topic", TOPICS)
def test_event_schema_is_a_closed_object_with_the_envelope_required(topic: str) -> None:
    schema = event_schema(EVENT_TYPES[topic])
    assert schema["$schema"] == JSON_SCHEMA_DIALECT
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    required = schema["required"]
    assert isinstance(required, list)
    assert set(ENVELOPE_FIELDS) <= set(required)


def test_every_field_is_required_because_every_field_is_always_serialised() -> None:
    schema = event_schema(EVENT_TYPES[PAYMENT_FINISHED])
    properties = schema["properties"]
    assert isinstance(properties, dict)
    assert schema["required"] == list(properties)


def test_money_is_a_decimal_string_in_the_schema() -> None:
    properties = event_schema(EVENT_TYPES[PAYMENT_FINISHED])["properties"]
    assert isinstance(properties, dict)
    amount = properties["amount"]
    assert isinstance(amount, dict)
    assert amount["type"] == "string"
    assert "pattern" in amount


def test_schema_version_is_a_constant_in_the_schema() -> None:
    properties = event_schema(ThingHappenedV2)["properties"]
    assert isinstance(properties, dict)
    version = properties["schema_version"]
    assert isinstance(version, dict)
    assert version["const"] == 2


def test_schema_filename_names_topic_and_version() -> None:
    assert schema_filename(ThingHappenedV2) == "thing.happened.v2.json"
    assert schema_filename(EVENT_TYPES[PAYMENT_FINISHED]) == "payment.finished.v3.json"


def test_render_sorts_keys_indents_and_ends_with_a_newline() -> None:
    assert render({"b": 1, "a": {"d": [2], "c": "é"}}) == (
        '{\n  "a": {\n    "c": "é",\n    "d": [\n      2\n    ]\n  },\n  "b": 1\n}\n'
    )


@pytest.mark.parametrize("topic", TOPICS)
def test_serialised_events_satisfy_their_schema(topic: str, samples: Mapping[str, Event]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(event_schema(EVENT_TYPES[topic]))
    body = json.loads(samples[topic].model_dump_json())
    assert [error.message for error in validator.iter_errors(body)] == []


def test_schema_rejects_what_the_model_rejects(samples: Mapping[str, Event]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(event_schema(EVENT_TYPES[PAYMENT_FINISHED]))
    body = json.loads(samples[PAYMENT_FINISHED].model_dump_json())
    assert validator.is_valid(body)
    for field, value in (("amount", "0"), ("currency", "BTC"), ("lines", []), ("extra", 1)):
        assert not validator.is_valid({**body, field: value}), field
