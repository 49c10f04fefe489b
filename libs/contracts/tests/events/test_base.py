import json
from datetime import UTC, datetime, timedelta
from typing import ClassVar, Literal
from uuid import UUID, uuid4

import pytest
from pydantic import ValidationError

from bitloot_contracts.events import ENVELOPE_FIELDS, Event, schema_version_of


class ThingHappened(Event):
    topic: ClassVar[str] = "thing.happened"
    schema_version: Literal[3] = 3

    name: str


def test_envelope_defaults_to_a_fresh_id_and_the_current_utc_time() -> None:
    before = datetime.now(UTC)
    first = ThingHappened(order_id=uuid4(), name="a")
    second = ThingHappened(order_id=first.order_id, name="a")
    assert isinstance(first.event_id, UUID)
    assert first.event_id != second.event_id
    assert first.occurred_at.utcoffset() == timedelta(0)
    assert before <= first.occurred_at <= datetime.now(UTC)
    assert first.schema_version == 3


def test_event_is_frozen() -> None:
    event = ThingHappened(order_id=uuid4(), name="a")
    with pytest.raises(ValidationError, match="frozen"):
        event.name = "b"  # type: ignore[misc]
    assert event.name == "a"


def test_unknown_field_is_rejected() -> None:
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        ThingHappened(order_id=uuid4(), name="a", colour="red")  # type: ignore[call-arg]


def test_naive_occurred_at_is_rejected() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        ThingHappened(order_id=uuid4(), name="a", occurred_at=datetime(2024, 1, 1))


def test_other_schema_version_is_rejected() -> None:
    body = ThingHappened(order_id=uuid4(), name="a").model_dump(mode="json")
    body["schema_version"] = 2
    with pytest.raises(ValidationError, match="schema_version"):
        ThingHappened.model_validate_json(json.dumps(body))


@pytest.mark.parametrize("field", ENVELOPE_FIELDS)
def test_json_without_an_envelope_field_is_rejected(field: str) -> None:
    body = ThingHappened(order_id=uuid4(), name="a").model_dump(mode="json")
    del body[field]
    with pytest.raises(ValidationError, match=field):
        ThingHappened.model_validate_json(json.dumps(body))


def test_json_round_trip_keeps_every_field() -> None:
    event = ThingHappened(order_id=uuid4(), name="a")
    assert ThingHappened.model_validate_json(event.model_dump_json()) == event


def test_event_without_a_topic_is_refused_at_definition() -> None:
    with pytest.raises(TypeError, match="'NoTopic' has no topic"):

        class NoTopic(Event):
            schema_version: Literal[1] = 1


def test_event_without_a_schema_version_default_is_refused_at_definition() -> None:
    with pytest.raises(TypeError, match="'NoVersion' has schema_version default"):

        class NoVersion(Event):
            topic: ClassVar[str] = "no.version"


def test_schema_version_of_reads_the_declared_version() -> None:
    assert schema_version_of(ThingHappened) == 3
