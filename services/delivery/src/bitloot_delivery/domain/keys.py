"""The keys of an order as the gateway seals them: ``{"keys": [{"type", "value",
"product_id"}]}``. Text keys are plain strings; image keys carry base64 image bytes."""

import base64
import binascii
import json
from dataclasses import dataclass

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
# Names seen for the same image types; never SVG, which can carry script.
_TYPE_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png"}


class MalformedKeys(ValueError):
    """Opened keys that are not the agreed document (a bug upstream, never retried)."""


@dataclass(frozen=True)
class DeliveredKey:
    """One key: its MIME type (``text/plain`` or an image type), value and product."""

    type: str
    value: str
    product_id: str

    @property
    def is_image(self) -> bool:
        return self.type in IMAGE_TYPES


def parse_keys(plaintext: bytes) -> list[DeliveredKey]:
    """The keys in an opened payload, in order; `MalformedKeys` says what is wrong
    without quoting any of it (the document holds keys)."""
    try:
        document = json.loads(plaintext)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MalformedKeys("The keys are not a JSON document.") from None
    items = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise MalformedKeys('The keys document has no "keys" list.')
    return [_key(position, item) for position, item in enumerate(items)]


def _key(position: int, item: object) -> DeliveredKey:
    if not isinstance(item, dict):
        raise MalformedKeys(f"Key {position} is not an object.")
    fields = {name: item.get(name) for name in ("type", "value", "product_id")}
    if not all(isinstance(value, str) and value for value in fields.values()):
        raise MalformedKeys(f"Key {position} needs non-empty type, value and product_id.")
    mime = str(fields["type"]).strip().lower()
    mime = _TYPE_ALIASES.get(mime, mime)
    key = DeliveredKey(mime, str(fields["value"]), str(fields["product_id"]))
    if key.is_image:
        try:
            base64.b64decode(key.value, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedKeys(f"Image key {position} is not base64.") from None
    return key
