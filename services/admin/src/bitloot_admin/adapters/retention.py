"""The admin's retention rules as SQL (the rule itself: domain.retention)."""

from bitloot_runtime.retention import RetentionPeriod, SqlRule


def audit_rules(period: RetentionPeriod) -> list[SqlRule]:
    """Every audit and activity row older than `period` (indexes admin_audit_at and
    order_activity_at)."""
    return [
        SqlRule("admin_audit", "age", period, "true", "at"),
        SqlRule("order_activity", "age", period, "true", "at", key_column="event_id"),
    ]
