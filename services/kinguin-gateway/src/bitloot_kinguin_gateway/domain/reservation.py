"""Rules about one order's reservation at Kinguin."""

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Final, cast, get_args

from bitloot_contracts.events import KinguinOrderStatus

KINGUIN_STATUSES: Final[frozenset[str]] = frozenset(get_args(KinguinOrderStatus))


def as_kinguin_status(value: str | None) -> KinguinOrderStatus | None:
    """`value` if it is a status the contracts know, else None."""
    return cast(KinguinOrderStatus, value) if value in KINGUIN_STATUSES else None


def is_newer(incoming: datetime | None, known: datetime | None) -> bool:
    """Whether a status stamped `incoming` supersedes the one stamped `known`.

    Kinguin's notifications arrive out of order; only a strictly later `updatedAt` wins.
    A status with no time at all (an order read back at creation) never overrides one
    that has a time.
    """
    if known is None:
        return True
    return incoming is not None and incoming > known


def expected_key_count(lines: Iterable[Mapping[str, object]]) -> int:
    """How many keys the order bought: the sum of its lines' quantities."""
    total = 0
    for line in lines:
        qty = line["qty"]
        if not isinstance(qty, int):
            raise TypeError(f"Line quantity {qty!r} is not an int.")
        total += qty
    return total
