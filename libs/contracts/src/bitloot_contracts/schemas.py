"""The committed form of an event model: its JSON Schema, file name and text.

The schemas are generated in pydantic's *serialization* mode: a file describes the bytes
on the bus, which every producer writes with `model_dump_json`. So every field is
required (the envelope always travels, defaults included) and money is a decimal
string. `parse_event` accepts everything such a schema allows and a little more (money as
a JSON number, an e-mail address in any case), so a consumer is never stricter than the
published contract.
"""

import json
from typing import Final

from pydantic import JsonValue

from bitloot_contracts.events import Event, schema_version_of

JSON_SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"

JsonObject = dict[str, JsonValue]


def event_schema(model: type[Event]) -> JsonObject:
    """The JSON Schema of the messages `model` puts on the bus (nested models in `$defs`)."""
    schema: JsonObject = model.model_json_schema(mode="serialization")
    return {"$schema": JSON_SCHEMA_DIALECT, **schema}


def schema_filename(model: type[Event]) -> str:
    """`<topic>.v<schema_version>.json`: one file per version, old versions stay committed."""
    return f"{model.topic}.v{schema_version_of(model)}.json"


def render(document: JsonValue) -> str:
    """The exact text committed for `document`: sorted keys, 2-space indent, final newline.

    Deterministic so that a regenerated file differs from the committed one only when the
    contract does.
    """
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
