"""The webhook log's retention rules as SQL (the rules themselves: domain.retention), and
the audit of what retention deleted (`retention_log`)."""

from bitloot_kinguin_gateway.adapters.orm import retention_log
from bitloot_kinguin_gateway.domain.retention import (
    KINGUIN_COMPLETED,
    KINGUIN_GONE,
    RESERVATION_FAILED,
)
from bitloot_runtime.retention import Audit, InboundLogRetention, SqlRule, audit_to

# The SQL is built from the domain's constants only (hence the `noqa: S608`); the cut-off
# and batch size are parameters.
_GONE = ", ".join(f"'{status}'" for status in KINGUIN_GONE)
_ENDED = f"""
    r.state = '{RESERVATION_FAILED}' OR r.kinguin_status IN ({_GONE})
    OR (r.kinguin_status = '{KINGUIN_COMPLETED}' AND r.keys_sealed_at IS NOT NULL)
"""

# Indexes: ix_webhook_log_retention (authenticated, received_at) finds the candidates; the
# reservations' and kinguin_orders' keys answer the rest per row. A call names its
# reservation by our order id (set when it was found) or by the orderExternalId it carries.
RESERVATION_ENDED = f"""
    authenticated
    AND NOT EXISTS (SELECT 1 FROM reservations r WHERE r.order_id = webhook_log.order_id
        AND ({_ENDED}) IS NOT TRUE)
    AND NOT EXISTS (SELECT 1 FROM kinguin_orders k JOIN reservations r USING (order_id)
        WHERE k.external_id = webhook_log.order_external_id AND ({_ENDED}) IS NOT TRUE)
"""  # noqa: S608


def webhook_rules(policy: InboundLogRetention) -> list[SqlRule]:
    """Unauthenticated calls after the short period; authenticated ones after the long,
    once their reservation has ended."""
    unauthenticated = SqlRule(
        "webhook_log", "unauthenticated", policy.unauthenticated, "NOT authenticated", "received_at"
    )
    authenticated = SqlRule(
        "webhook_log", "authenticated", policy.authenticated, RESERVATION_ENDED, "received_at"
    )
    return [unauthenticated, authenticated]


def audit() -> Audit:
    """Each deleted batch recorded in `retention_log`."""
    return audit_to(retention_log)
