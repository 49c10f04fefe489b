"""Retention of the admin's audit and order activity: rows older than
ADMIN_AUDIT_RETENTION_DAYS deleted in batches, each with its own audit row in the same
transaction. Runs as a background loop (every ADMIN_RETENTION_SWEEP_SECONDS) and as
``python -m bitloot_admin retention [--dry-run]``."""

from collections.abc import Callable

from bitloot_admin.adapters.audit import record_swept
from bitloot_admin.adapters.retention import audit_rules
from bitloot_admin.domain.retention import audit_retention
from bitloot_admin.settings import Settings
from bitloot_runtime.db import UnitOfWork
from bitloot_runtime.retention import RetentionSweep


def audit_sweep(settings: Settings, unit_of_work: Callable[[], UnitOfWork]) -> RetentionSweep:
    """The audit's sweep, as configured."""
    return RetentionSweep(
        unit_of_work=unit_of_work,
        rules=audit_rules(audit_retention(settings.audit_retention_days)),
        audit=record_swept,
        batch_size=settings.retention_batch_size,
    )
