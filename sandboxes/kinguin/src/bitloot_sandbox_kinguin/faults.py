"""Kinguin's faults: the common ones, and products that are out of stock."""

from dataclasses import dataclass, field

from bitloot_sandbox_common.faults import Faults


@dataclass
class KinguinFaults(Faults):
    """The common faults (`reorder_callbacks` sends an order's status webhooks newest
    first); `out_of_stock`: products that cannot be ordered; `hold_order_answer_seconds`:
    ``POST /v2/order`` records the order, then holds its answer that long (a buyer that
    dies or times out meanwhile must find the order by ``orderExternalId``);
    `delay_order_seconds`: ``POST /v2/order`` waits that long before it records the order
    (Kinguin still creating it: a look-up meanwhile finds nothing);
    `hold_return_answer_seconds`: ``POST /v2/order/{orderId}/keys/return`` returns the keys,
    then holds its answer that long (a caller that dies meanwhile must read the order, as
    Kinguin takes only one return request per order)."""

    out_of_stock: list[str] = field(default_factory=list)
    hold_order_answer_seconds: int = 0
    delay_order_seconds: int = 0
    hold_return_answer_seconds: int = 0
