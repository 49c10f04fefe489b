"""Compatibility of the event models with their committed JSON Schemas.

Every event rejects unknown fields, so any change to a model at the same schema_version
breaks one side of the bus: a field added (even optional) is rejected by consumers still on
the committed schema, a field removed or made required breaks its producers, a changed
type or constraint breaks whichever side was relying on it. Hence the rule enforced by
`committed_schema_problems` (and by the tests and `bitloot-contracts check`): the
committed schema of each model's current version must be exactly what the model produces;
a change to the contract is a new schema_version, and old versions stay committed.
"""

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from pydantic import JsonValue

from bitloot_contracts.events import Event, schema_version_of
from bitloot_contracts.schemas import JsonObject, event_schema, render, schema_filename

# Keywords that describe a value without constraining it: a change to them changes no
# message's validity, so it needs a regenerated file but no new schema_version.
ANNOTATIONS: Final = frozenset(
    {"$comment", "$defs", "$schema", "default", "deprecated", "description", "examples", "title"}
)
LOWER_BOUNDS: Final = frozenset(
    {"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"}
)
UPPER_BOUNDS: Final = frozenset(
    {"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"}
)
_ALTERNATIVES: Final = ("anyOf", "oneOf", "allOf")
_COMPARED_STRUCTURALLY: Final = frozenset(
    {"$ref", "properties", "required", "items", "additionalProperties", *_ALTERNATIVES}
)

Location = tuple[str, ...]


def breaking_changes(committed: JsonObject, current: JsonObject) -> list[str]:
    """Every difference between two schemas that changes which messages are valid, in words.

    Annotations (titles, descriptions, examples, defaults) and the order of properties,
    `required` or `enum` are ignored: they change no message's validity. `$ref`s are
    followed within each document, so a change inside a nested model is reported at the
    field that uses it, e.g. `field 'lines[].qty': constraint tightened: maximum from 9 to 5`.
    """
    diff = _SchemaDiff(committed, current)
    diff.compare(committed, current, ())
    return diff.changes


def committed_schema_problems(directory: Path, models: Iterable[type[Event]]) -> list[str]:
    """One readable report per model whose current version is not committed as generated."""
    problems = (_problem(directory, model) for model in models)
    return [problem for problem in problems if problem is not None]


def _problem(directory: Path, model: type[Event]) -> str | None:
    name, version = schema_filename(model), schema_version_of(model)
    path = directory / name
    if not path.is_file():
        return (
            f"{name} is missing: {model.__name__} (schema_version {version}) has no committed "
            "schema. Run `make schemas` and commit the file."
        )
    current = event_schema(model)
    text = path.read_text(encoding="utf-8")
    if text == render(current):
        return None
    committed = load_schema(text)
    if committed is None:
        return f"{name} is not a JSON object. Restore it from version control."
    changes = breaking_changes(committed, current)
    if not changes:
        return f"{name} differs only in documentation or formatting. Run `make schemas`."
    listed = "".join(f"\n  - {change}" for change in changes)
    return (
        f"{name} does not match {model.__name__} (schema_version {version}):{listed}\n"
        "  Every event rejects unknown fields, so any change at the same schema_version "
        "breaks a producer or a consumer.\n"
        f"  Bump {model.__name__}.schema_version to {version + 1} and run `make schemas`; "
        f"keep {name} committed for the messages still in flight."
    )


def load_schema(text: str) -> JsonObject | None:
    """The JSON object in `text`, or None if `text` is not one."""
    try:
        loaded = json.loads(text)
    except ValueError:
        return None
    return loaded if isinstance(loaded, dict) else None


def _where(path: Location) -> str:
    if not path:
        return "the message"
    dotted = path[0]
    for part in path[1:]:
        dotted += part if part == "[]" else f".{part}"
    return f"field {dotted!r}"


def _show(value: JsonValue) -> str:
    return json.dumps(value, sort_keys=True)


def _number(value: JsonValue) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value


class _SchemaDiff:
    """Walks two schemas side by side and collects the differences in `changes`."""

    def __init__(self, committed: JsonObject, current: JsonObject) -> None:
        self._roots = (committed, current)
        self._following: set[tuple[str, str]] = set()
        self.changes: list[str] = []

    def compare(self, old: JsonObject, new: JsonObject, path: Location) -> None:
        old_ref, new_ref = old.get("$ref"), new.get("$ref")
        refs = (old_ref, new_ref) if isinstance(old_ref, str) and isinstance(new_ref, str) else None
        if refs is not None and refs in self._following:
            return  # a recursive definition, already being compared further up
        if refs is not None:
            self._following.add(refs)
        try:
            self._compare_resolved(self._resolve(old, 0), self._resolve(new, 1), path)
        finally:
            if refs is not None:
                self._following.discard(refs)

    def _compare_resolved(self, old: JsonObject, new: JsonObject, path: Location) -> None:
        if not self._compare_alternatives(old, new, path):
            return
        if any(key in old or key in new for key in ("properties", "required")):
            self._compare_properties(old, new, path)
        for key, part in (("items", "[]"), ("additionalProperties", "*")):
            before, after = old.get(key), new.get(key)
            if isinstance(before, dict) and isinstance(after, dict):
                self.compare(before, after, (*path, part))
            elif before != after:
                self._changed(key, before, after, _where(path))
        for key in sorted((old.keys() | new.keys()) - ANNOTATIONS - _COMPARED_STRUCTURALLY):
            self._compare_keyword(key, old.get(key), new.get(key), _where(path))

    def _compare_alternatives(self, old: JsonObject, new: JsonObject, path: Location) -> bool:
        """Compare anyOf/oneOf/allOf branch by branch; False if the shapes differ (reported)."""
        for key in _ALTERNATIVES:
            before, after = old.get(key), new.get(key)
            if before is None and after is None:
                continue
            if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
                for left, right in zip(before, after, strict=True):
                    if isinstance(left, dict) and isinstance(right, dict):
                        self.compare(left, right, path)
                continue
            self.changes.append(
                f"{_where(path)}: type changed from {_describe(old)} to {_describe(new)}"
            )
            return False
        return True

    def _compare_properties(self, old: JsonObject, new: JsonObject, path: Location) -> None:
        before, after = _object(old.get("properties")), _object(new.get("properties"))
        required_before, required_after = _names(old.get("required")), _names(new.get("required"))
        closed = old.get("additionalProperties") is False
        for name in before:
            where = _where((*path, name))
            if name not in after:
                self.changes.append(f"{where} removed")
                continue
            if name in required_after - required_before:
                self.changes.append(f"{where} became required")
            elif name in required_before - required_after:
                self.changes.append(f"{where} is no longer required (consumers may not get it)")
            field_before, field_after = before[name], after[name]
            if isinstance(field_before, dict) and isinstance(field_after, dict):
                self.compare(field_before, field_after, (*path, name))
        for name in after:
            if name in before:
                continue
            if name in required_after:
                self.changes.append(f"{_where((*path, name))} added as required")
            elif closed:
                self.changes.append(
                    f"{_where((*path, name))} added (consumers on the committed schema "
                    "reject unknown fields)"
                )

    def _compare_keyword(self, key: str, before: JsonValue, after: JsonValue, where: str) -> None:
        if before == after:
            return
        if key == "enum" and isinstance(before, list) and isinstance(after, list):
            self.changes.extend(
                f"{where}: enum value {_show(v)} removed" for v in before if v not in after
            )
            self.changes.extend(
                f"{where}: enum value {_show(v)} added (consumers on the committed schema "
                "reject it)"
                for v in after
                if v not in before
            )
        elif key in LOWER_BOUNDS or key in UPPER_BOUNDS:
            self._compare_bound(key, before, after, where)
        else:
            self._changed(key, before, after, where)

    def _compare_bound(self, key: str, before: JsonValue, after: JsonValue, where: str) -> None:
        old, new = _number(before), _number(after)
        if old is not None and new is not None:
            tightened = new > old if key in LOWER_BOUNDS else new < old
        elif before is None or after is None:
            tightened = before is None  # a bound added tightens, a bound removed loosens
        else:
            self._changed(key, before, after, where)
            return
        verdict = "tightened" if tightened else "loosened"
        if before is None:
            detail = f"{key} {_show(after)} added"
        elif after is None:
            detail = f"{key} {_show(before)} removed"
        else:
            detail = f"{key} from {_show(before)} to {_show(after)}"
        self.changes.append(f"{where}: constraint {verdict}: {detail}")

    def _changed(self, key: str, before: JsonValue, after: JsonValue, where: str) -> None:
        if before is None:
            self.changes.append(f"{where}: {key} {_show(after)} added")
        elif after is None:
            self.changes.append(f"{where}: {key} {_show(before)} removed")
        else:
            self.changes.append(f"{where}: {key} changed from {_show(before)} to {_show(after)}")

    def _resolve(self, node: JsonObject, side: int) -> JsonObject:
        ref = node.get("$ref")
        if not isinstance(ref, str):
            return node
        target = _pointer(self._roots[side], ref)
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        return {**self._resolve(target, side), **siblings}


def _describe(node: JsonObject) -> str:
    ref = node.get("$ref")
    if isinstance(ref, str):
        return ref.rsplit("/", 1)[-1]
    for key in _ALTERNATIVES:
        branches = node.get(key)
        if isinstance(branches, list):
            described = (_describe(branch) for branch in branches if isinstance(branch, dict))
            return f"({' | '.join(described)})"
    if "const" in node:
        return _show(node["const"])
    kind = node.get("type")
    return _show(kind) if kind is not None else "anything"


def _pointer(root: JsonObject, ref: str) -> JsonObject:
    """The object `ref` (a local JSON Pointer such as `#/$defs/OrderLine`) points to."""
    node: JsonValue = root
    if not ref.startswith("#/"):
        raise ValueError(
            f"Reference {ref!r} is not local to the schema. Only '#/...' is supported."
        )
    for part in ref[2:].split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or key not in node:
            raise ValueError(f"Reference {ref!r} points to nothing.")
        node = node[key]
    if not isinstance(node, dict):
        raise ValueError(f"Reference {ref!r} points to a {type(node).__name__}, not a schema.")
    return node


def _object(value: JsonValue) -> JsonObject:
    return value if isinstance(value, dict) else {}


def _names(value: JsonValue) -> set[str]:
    return {name for name in value if isinstance(name, str)} if isinstance(value, list) else set()
