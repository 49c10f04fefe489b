"""The envelope every event shares, and the base of every model that travels on the bus."""

from datetime import UTC, datetime
from typing import ClassVar, Final
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationInfo, model_validator

# Fields whose defaults exist for producers building events in code. A message read from
# the bus must carry them: a fresh event id would defeat deduplication, a fresh time would
# reorder history, and a defaulted version would hide a producer on another version.
ENVELOPE_FIELDS: Final = ("event_id", "occurred_at", "schema_version")


def _now() -> datetime:
    return datetime.now(UTC)


class Contract(BaseModel):
    """A value on the bus: immutable, and strict about its shape.

    Unknown fields are rejected rather than ignored, so a producer that is ahead of its
    consumers fails loudly (the message is parked) instead of losing data silently.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        # Every field is always present in what model_dump_json produces, and the
        # committed schemas describe those bytes (see bitloot_contracts.schemas).
        json_schema_serialization_defaults_required=True,
    )


class Event(Contract):
    """Something that happened to one order, published on the topic `topic`.

    Subclasses declare `topic: ClassVar[str]` and `schema_version: Literal[N] = N`; any
    change to a subclass's fields needs a new `N` (see bitloot_contracts.compat).
    """

    topic: ClassVar[str]

    event_id: UUID = Field(default_factory=uuid4, description="Also the AMQP message_id.")
    order_id: UUID = Field(description="BitLoot order; also the AMQP correlation_id.")
    occurred_at: AwareDatetime = Field(default_factory=_now)
    schema_version: int

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: object) -> None:
        """Reject, at import, an event that does not say its topic and schema version."""
        super().__pydantic_init_subclass__(**kwargs)
        if not isinstance(getattr(cls, "topic", None), str):
            raise TypeError(f"Event {cls.__name__!r} has no topic. Declare `topic: ClassVar[str]`.")
        version = cls.model_fields["schema_version"].default
        if type(version) is not int or version < 1:
            raise TypeError(
                f"Event {cls.__name__!r} has schema_version default {version!r}. "
                "Declare `schema_version: Literal[N] = N` with N >= 1."
            )

    @model_validator(mode="before")
    @classmethod
    def _envelope_present_in_json(cls, data: object, info: ValidationInfo) -> object:
        if info.mode == "json" and isinstance(data, dict):
            missing = [name for name in ENVELOPE_FIELDS if name not in data]
            if missing:
                raise ValueError(f"a message on the bus must carry {', '.join(missing)}")
        return data


def schema_version_of(model: type[Event]) -> int:
    """The schema version `model` produces (the default of its `schema_version` field)."""
    version = model.model_fields["schema_version"].default
    assert isinstance(version, int)  # guaranteed by Event.__pydantic_init_subclass__
    return version
