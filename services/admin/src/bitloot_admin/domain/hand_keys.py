"""Keys an admin enters by hand for a failed or stuck order: what is accepted, and the
document delivery opens (the gateway's format: ``{"keys": [{type, value, product_id}]}``).

Nothing here ever puts a key in a message: a refusal names the product and the counts,
never the key, because refusals are shown, logged and audited.
"""

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Kinguin's text keys are a few dozen characters; a page of text is a mistake.
MAX_KEY_LENGTH = 512
# Kinguin sells at most 9 of a product and 10 products per order.
MAX_KEYS = 90


class HandKey(BaseModel):
    """One key as the admin entered it (text keys only; images are not entered by hand)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    serial: str = Field(min_length=1, max_length=MAX_KEY_LENGTH)
    type: Literal["text/plain"] = "text/plain"
    product_id: str = Field(min_length=1, max_length=128)


class HandKeys(BaseModel):
    """``POST /admin/api/orders/{id}/deliver-keys``: every key of the order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keys: list[HandKey] = Field(min_length=1, max_length=MAX_KEYS)


class KeysRefused(Exception):
    """The keys do not fit the order; `code` says why, the message never holds a key."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def check_keys(keys: Sequence[HandKey], lines: Mapping[str, int]) -> None:
    """The keys must be exactly the order's: `lines` maps each product to its quantity."""
    for index, key in enumerate(keys):
        if key.serial != key.serial.strip() or not key.serial.isprintable():
            raise KeysRefused(
                "key_not_printable",
                f"Key {index + 1} has surrounding spaces or characters that cannot be shown.",
            )
    entered = Counter(key.product_id for key in keys)
    for product_id in sorted(set(entered) | set(lines)):
        if entered[product_id] != lines.get(product_id, 0):
            raise KeysRefused(
                "key_count_mismatch",
                f"Product {product_id}: the order holds {lines.get(product_id, 0)} keys, "
                f"{entered[product_id]} were entered.",
            )
    serials = [key.serial for key in keys]
    if len(set(serials)) != len(serials):
        raise KeysRefused("duplicate_key", "The same key was entered twice.")


def plaintext(keys: Sequence[HandKey]) -> bytes:
    """What delivery opens, exactly as the gateway seals Kinguin's keys."""
    document = {
        "keys": [{"type": k.type, "value": k.serial, "product_id": k.product_id} for k in keys]
    }
    return json.dumps(document, separators=(",", ":")).encode()


def keys_from_text(text: str, product_id: str) -> list[HandKey]:
    """A form's text area: one key per line, blank lines ignored."""
    lines = (line.strip() for line in text.splitlines())
    return [HandKey(serial=line, product_id=product_id) for line in lines if line]
