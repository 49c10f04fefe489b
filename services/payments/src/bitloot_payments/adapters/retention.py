"""The IPN log's retention rules as SQL (the rules themselves: domain.retention), and the
audit of what retention deleted (`retention_log`)."""

from bitloot_payments.adapters.orm import retention_log
from bitloot_payments.domain.retention import (
    FULFILMENT_ENDED,
    FULFILMENT_FAILED,
    ORDER_ENDED,
    REFUND_CLOSED,
    REFUND_OWED,
)
from bitloot_runtime.retention import Audit, InboundLogRetention, SqlRule, audit_to


# The SQL is built from the domain's constants only (hence the `noqa: S608`s); the
# cut-off and batch size are parameters.
def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


_ORDER_ENDED = f"""
    o.status IN {_in(ORDER_ENDED)}
    OR (o.status = 'paid' AND o.fulfilment_state IN {_in(FULFILMENT_ENDED)})
    OR (o.status = 'paid' AND o.fulfilment_state = '{FULFILMENT_FAILED}' AND EXISTS (
        SELECT 1 FROM refunds c WHERE c.order_id = o.order_id
        AND c.status IN {_in(REFUND_CLOSED)}))
"""  # noqa: S608

# Indexes: ix_ipn_log_retention (signature_valid, received_at) finds the candidates;
# ix_flags_ipn_id, the orders' key and ix_refunds_order_id answer the rest per row.
AUTHENTIC_DONE = f"""
    signature_valid AND processed_at IS NOT NULL AND result NOT IN ('pending', 'error')
    AND NOT EXISTS (SELECT 1 FROM flags f WHERE f.ipn_id = ipn_log.id)
    AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = ipn_log.order_id
        AND ({_ORDER_ENDED}) IS NOT TRUE)
    AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.order_id = ipn_log.order_id
        AND r.status IN {_in(REFUND_OWED)})
"""  # noqa: S608


def ipn_rules(policy: InboundLogRetention) -> list[SqlRule]:
    """Forged IPNs after the short period, authentic ones nothing needs after the long."""
    return [
        SqlRule(
            "ipn_log",
            "unauthenticated",
            policy.unauthenticated,
            "NOT signature_valid",
            "received_at",
        ),
        SqlRule("ipn_log", "authenticated", policy.authenticated, AUTHENTIC_DONE, "received_at"),
    ]


def audit() -> Audit:
    """Each deleted batch recorded in `retention_log`."""
    return audit_to(retention_log)
