"""Checking a provider's answers against the JSON shapes transcribed from its docs.

A shape maps each documented field to its type: ``int`` (a JSON integer), ``float`` (a
JSON number), ``string``, ``bool``, ``string[]``, ``object``, ``object[]``, ``any``, or a
type followed by ``?`` for a field that may also be null. The sandboxes' tests transcribe
the shapes; `mismatches` lists every way a document departs from one.
"""

from dataclasses import dataclass

Shape = dict[str, "Field"]


@dataclass(frozen=True)
class Field:
    """A documented field: its type, whether an answer may omit it, and for an object or
    a list of objects the documented fields inside (None: not documented)."""

    type: str
    required: bool = True
    shape: Shape | None = None


def optional(type_: str, shape: Shape | None = None) -> Field:
    """A field an answer may omit."""
    return Field(type_, required=False, shape=shape)


def is_type(value: object, type_: str) -> bool:
    """Whether a JSON value is of a documented type (``type?``: that type or null)."""
    if type_.endswith("?"):
        return value is None or is_type(value, type_[:-1])
    number = isinstance(value, int | float) and not isinstance(value, bool)
    checks = {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": number,
        "string": isinstance(value, str),
        "bool": isinstance(value, bool),
        "object": isinstance(value, dict),
        "any": True,
        "string[]": isinstance(value, list) and all(isinstance(v, str) for v in value),
        "object[]": isinstance(value, list) and all(isinstance(v, dict) for v in value),
    }
    return checks[type_]


def mismatches(document: object, shape: Shape, where: str = "") -> list[str]:
    """Every way `document` departs from `shape`: a missing required field, a field the
    documentation does not have, a value of another type; ``[]`` when it conforms."""
    if not isinstance(document, dict):
        return [f"{where or 'document'}: not an object"]
    found = [f"{where}{name}: not documented" for name in document if name not in shape]
    for name, field in shape.items():
        path = f"{where}{name}"
        if name not in document:
            if field.required:
                found.append(f"{path}: missing")
            continue
        value = document[name]
        if not is_type(value, field.type):
            found.append(f"{path}: {value!r} is not {field.type}")
        elif field.shape is not None:
            items = value if field.type == "object[]" else [value]
            for index, item in enumerate(items):
                inner = f"{path}[{index}]." if field.type == "object[]" else f"{path}."
                found += mismatches(item, field.shape, inner)
    return found
