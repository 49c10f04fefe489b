from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field

from bitloot_contracts.compat import breaking_changes, committed_schema_problems
from bitloot_contracts.events import EVENT_TYPES, Event, OrderLine, PaymentFinished
from bitloot_contracts.events.fields import CurrencyCode, Identifier, PositiveMoney
from bitloot_contracts.schemas import JsonObject, event_schema
from bitloot_contracts.topics import PAYMENT_FINISHED

SCHEMAS = Path(__file__).parents[1] / "schemas"


def _object(properties: JsonObject, required: list[str], **annotations: str) -> JsonObject:
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
        "required": list(required),
        **annotations,
    }


NAME: JsonObject = {"type": "string", "maxLength": 10}
COUNT: JsonObject = {"type": "integer", "minimum": 1}


# A deliberately changed copy of PaymentFinished: customer_email removed, same version.
class PaymentFinishedWithoutEmail(Event):
    topic: ClassVar[str] = PAYMENT_FINISHED
    schema_version: Literal[1, 2, 3] = 3

    payment_id: Identifier
    amount: PositiveMoney
    currency: CurrencyCode
    lines: tuple[OrderLine, ...] = Field(min_length=1, max_length=10)


class PaymentFinishedWithNote(PaymentFinished):
    note: str


class PaymentFinishedReworded(PaymentFinished):
    """Same fields, another description."""


class PaymentFinishedV4(Event):
    topic: ClassVar[str] = PAYMENT_FINISHED
    schema_version: Literal[4] = 4

    payment_id: Identifier


def test_committed_schemas_match_models() -> None:
    problems = committed_schema_problems(SCHEMAS, EVENT_TYPES.values())
    assert not problems, "\n\n".join(problems)


def test_identical_schemas_have_no_breaking_changes() -> None:
    schema = event_schema(PaymentFinished)
    assert breaking_changes(schema, event_schema(PaymentFinished)) == []


def test_removed_field_is_reported_as_breaking() -> None:
    changes = breaking_changes(
        event_schema(PaymentFinished), event_schema(PaymentFinishedWithoutEmail)
    )
    assert changes == ["field 'customer_email' removed"]


def test_field_added_as_required_is_reported() -> None:
    changes = breaking_changes(event_schema(PaymentFinished), event_schema(PaymentFinishedWithNote))
    assert changes == ["field 'note' added as required"]


def test_optional_field_added_to_a_closed_object_is_reported() -> None:
    old = _object({"name": NAME}, ["name"])
    new = _object({"name": NAME, "count": COUNT}, ["name"])
    assert breaking_changes(old, new) == [
        "field 'count' added (consumers on the committed schema reject unknown fields)"
    ]


def test_optional_field_added_to_an_open_object_is_not_breaking() -> None:
    old = {**_object({"name": NAME}, ["name"]), "additionalProperties": True}
    new = {**_object({"name": NAME, "count": COUNT}, ["name"]), "additionalProperties": True}
    assert breaking_changes(old, new) == []


def test_field_made_required_or_optional_is_reported() -> None:
    both: JsonObject = {"name": NAME, "count": COUNT}
    assert breaking_changes(_object(both, ["name"]), _object(both, ["name", "count"])) == [
        "field 'count' became required"
    ]
    assert breaking_changes(_object(both, ["name", "count"]), _object(both, ["name"])) == [
        "field 'count' is no longer required (consumers may not get it)"
    ]


def test_type_and_format_changes_are_reported() -> None:
    old = _object({"id": {"type": "string", "format": "uuid"}}, ["id"])
    new = _object({"id": {"type": "integer"}}, ["id"])
    assert breaking_changes(old, new) == [
        "field 'id': format \"uuid\" removed",
        'field \'id\': type changed from "string" to "integer"',
    ]


def test_enum_value_removed_or_added_is_reported() -> None:
    old = _object({"status": {"type": "string", "enum": ["paid", "failed"]}}, ["status"])
    new = _object({"status": {"type": "string", "enum": ["paid", "refunded"]}}, ["status"])
    assert breaking_changes(old, new) == [
        "field 'status': enum value \"failed\" removed",
        "field 'status': enum value \"refunded\" added (consumers on the committed schema "
        "reject it)",
    ]


def test_tightened_and_loosened_constraints_are_reported() -> None:
    old = _object({"name": NAME, "count": COUNT}, ["name", "count"])
    new = _object(
        {"name": {"type": "string", "maxLength": 5}, "count": {"type": "integer"}},
        ["name", "count"],
    )
    assert breaking_changes(old, new) == [
        "field 'name': constraint tightened: maxLength from 10 to 5",
        "field 'count': constraint loosened: minimum 1 removed",
    ]


def test_changed_pattern_is_reported() -> None:
    old = _object({"name": {"type": "string", "pattern": "^[a-z]+$"}}, ["name"])
    new = _object({"name": {"type": "string", "pattern": "^[a-z0-9]+$"}}, ["name"])
    assert breaking_changes(old, new) == [
        'field \'name\': pattern changed from "^[a-z]+$" to "^[a-z0-9]+$"'
    ]


def test_additional_properties_change_is_reported() -> None:
    old = _object({"name": NAME}, ["name"])
    new = {**old, "additionalProperties": True}
    assert breaking_changes(old, new) == [
        "the message: additionalProperties changed from false to true"
    ]


def test_change_inside_a_nested_model_is_reported_at_its_field() -> None:
    line_old = _object({"qty": {"type": "integer", "maximum": 9}}, ["qty"])
    line_new = _object({"qty": {"type": "integer", "maximum": 5}}, ["qty"])
    lines: JsonObject = {"type": "array", "items": {"$ref": "#/$defs/Line"}}
    old: JsonObject = {**_object({"lines": lines}, ["lines"]), "$defs": {"Line": line_old}}
    new: JsonObject = {**_object({"lines": lines}, ["lines"]), "$defs": {"Line": line_new}}
    assert breaking_changes(old, new) == [
        "field 'lines[].qty': constraint tightened: maximum from 9 to 5"
    ]


def test_recursive_definitions_are_compared_without_looping() -> None:
    def tree(max_children: int) -> JsonObject:
        children: JsonObject = {
            "type": "array",
            "items": {"$ref": "#/$defs/Node"},
            "maxItems": max_children,
        }
        node = _object({"children": children}, ["children"])
        return {"$ref": "#/$defs/Node", "$defs": {"Node": node}}

    assert breaking_changes(tree(3), tree(3)) == []
    assert breaking_changes(tree(3), tree(2)) == [
        "field 'children': constraint tightened: maxItems from 3 to 2"
    ]


def test_nullable_field_made_non_null_is_reported() -> None:
    old = _object({"name": {"anyOf": [NAME, {"type": "null"}]}}, ["name"])
    new = _object({"name": NAME}, ["name"])
    assert breaking_changes(old, new) == [
        'field \'name\': type changed from ("string" | "null") to "string"'
    ]


def test_documentation_and_order_changes_are_not_breaking() -> None:
    old = _object({"name": NAME, "count": COUNT}, ["name", "count"], title="Old")
    new = _object(
        {"count": {**COUNT, "description": "How many."}, "name": NAME},
        ["count", "name"],
        title="New",
        description="Reworded.",
    )
    assert breaking_changes(old, new) == []


def test_changed_copy_of_a_model_fails_the_committed_schema_check() -> None:
    problems = committed_schema_problems(SCHEMAS, [PaymentFinishedWithoutEmail])
    assert len(problems) == 1
    report = problems[0]
    assert report.startswith("payment.finished.v3.json does not match PaymentFinishedWithoutEmail")
    assert "- field 'customer_email' removed" in report
    assert "schema_version to 4 and run `make schemas`" in report
    assert "keep payment.finished.v3.json committed" in report


def test_bumped_version_needs_its_own_committed_schema() -> None:
    problems = committed_schema_problems(SCHEMAS, [PaymentFinishedV4])
    assert len(problems) == 1
    assert problems[0].startswith("payment.finished.v4.json is missing")


def test_documentation_only_change_asks_for_regeneration_not_a_new_version() -> None:
    problems = committed_schema_problems(SCHEMAS, [PaymentFinishedReworded])
    assert problems == [
        "payment.finished.v3.json differs only in documentation or formatting. Run `make schemas`."
    ]


def test_committed_file_that_is_not_json_is_reported(tmp_path: Path) -> None:
    (tmp_path / "payment.finished.v3.json").write_text("{oops", encoding="utf-8")
    problems = committed_schema_problems(tmp_path, [PaymentFinished])
    assert problems == [
        "payment.finished.v3.json is not a JSON object. Restore it from version control."
    ]
