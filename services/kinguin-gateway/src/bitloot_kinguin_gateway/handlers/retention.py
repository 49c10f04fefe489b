"""Retention of the webhook log: unauthenticated calls deleted after a short period,
authenticated ones after a long one and only once their reservation has ended
(domain.retention), in batches, each in one transaction with its `retention_log` row.
Runs as a background loop (every KINGUIN_GATEWAY_RETENTION_SWEEP_SECONDS) and as
``python -m bitloot_kinguin_gateway retention [--dry-run]``."""

from collections.abc import Callable

from bitloot_kinguin_gateway.adapters.retention import audit, webhook_rules
from bitloot_kinguin_gateway.settings import Settings
from bitloot_runtime.db import UnitOfWork
from bitloot_runtime.retention import RetentionSweep


def webhook_log_sweep(settings: Settings, unit_of_work: Callable[[], UnitOfWork]) -> RetentionSweep:
    """The webhook log's sweep, as configured."""
    return RetentionSweep(
        unit_of_work=unit_of_work,
        rules=webhook_rules(settings.webhook_retention()),
        audit=audit(),
        batch_size=settings.retention_batch_size,
    )
