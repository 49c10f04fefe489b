"""The IPN logs' retention rules as SQL (the rules themselves: domain.retention), and the
audit of what retention deleted (`retention_log`)."""

from bitloot_payments.adapters.orm import retention_log
from bitloot_payments.domain.retention import (
    FULFILMENT_ENDED,
    FULFILMENT_FAILED,
    ORDER_ENDED,
    PAYOUT_ENDED,
    PAYOUT_REQUESTING,
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


# Indexes: ix_payout_ipns_retention (signature_valid, received_at) finds the candidates;
# the payouts' unique provider_payout_id, ix_payouts_status_updated and the refunds' key
# answer the rest per row.
PAYOUT_AUTHENTIC_DONE = f"""
    signature_valid AND processed_at IS NOT NULL AND result <> 'pending'
    AND NOT EXISTS (SELECT 1 FROM payouts p
        WHERE p.provider_payout_id = payout_ipns.provider_payout_id
        AND (p.status NOT IN {_in(PAYOUT_ENDED)} OR EXISTS (SELECT 1 FROM refunds r
            WHERE r.id = p.refund_id AND r.status IN {_in(REFUND_OWED)})))
    AND NOT (result = 'unknown_payout'
        AND EXISTS (SELECT 1 FROM payouts q WHERE q.status = '{PAYOUT_REQUESTING}'))
"""  # noqa: S608


def payout_ipn_rules(policy: InboundLogRetention) -> list[SqlRule]:
    """Payout IPNs by the same periods: forged ones after the short one, authentic ones
    nothing needs (their payout ended, its refund not owed) after the long one."""
    return [
        SqlRule(
            "payout_ipns",
            "unauthenticated",
            policy.unauthenticated,
            "NOT signature_valid",
            "received_at",
        ),
        SqlRule(
            "payout_ipns",
            "authenticated",
            policy.authenticated,
            PAYOUT_AUTHENTIC_DONE,
            "received_at",
        ),
    ]


def audit() -> Audit:
    """Each deleted batch recorded in `retention_log`."""
    return audit_to(retention_log)
