"""Kinguin's faults: the common ones, and products that are out of stock."""

from dataclasses import dataclass, field

from bitloot_sandbox_common.faults import Faults


@dataclass
class KinguinFaults(Faults):
    """The common faults (`reorder_callbacks` sends an order's status webhooks newest
    first), and `out_of_stock`: products that cannot be ordered."""

    out_of_stock: list[str] = field(default_factory=list)
