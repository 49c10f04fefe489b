"""Fault injection: what the next API calls and callbacks should suffer.

A sandbox with faults of its own (Kinguin's out-of-stock products) subclasses `Faults`
with more fields; counts are non-negative integers, switches booleans, lists of strings.
"""

from dataclasses import asdict, dataclass, fields

from pydantic import JsonValue


class FaultsError(ValueError):
    """A fault setting with the wrong name or type."""


@dataclass
class Faults:
    """`rate_limit_next` / `fail_next` API calls answer 429 / 503 (counted down); every
    callback is sent `duplicate_callbacks` extra times; `reorder_callbacks` sends a
    sequence of status callbacks newest first."""

    rate_limit_next: int = 0
    fail_next: int = 0
    duplicate_callbacks: int = 0
    reorder_callbacks: bool = False

    def update(self, changes: dict[str, JsonValue]) -> None:
        """Apply `changes` (a subset of the fields); nothing changes if one is invalid."""
        known = sorted(item.name for item in fields(self))
        for name, value in changes.items():
            if name not in known:
                raise FaultsError(f"Fault {name!r} is unknown. Known: {known}.")
            if not _valid(getattr(self, name), value):
                raise FaultsError(f"Fault {name!r} has value {value!r}. Not a valid setting.")
        for name, value in changes.items():
            setattr(self, name, value)

    def reset(self) -> None:
        """Every fault off."""
        self.update(type(self)().as_json())

    def take_api_fault(self) -> int | None:
        """The status the current API call must answer with (429, 503), if any."""
        if self.rate_limit_next > 0:
            self.rate_limit_next -= 1
            return 429
        if self.fail_next > 0:
            self.fail_next -= 1
            return 503
        return None

    def as_json(self) -> dict[str, JsonValue]:
        """The current settings as JSON."""
        return asdict(self)


def _valid(current: object, value: object) -> bool:
    # bool is a subclass of int: a count must not be `true`, a switch must not be `1`.
    if isinstance(current, list):
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    if isinstance(current, bool):
        return isinstance(value, bool)
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
