"""Retention of the IPN logs (payments' ``ipn_log`` and payouts' ``payout_ipns``): forged
IPNs deleted after a short period, authentic ones after a long one and only once nothing
can still need them (domain.retention), in batches, each in one transaction with its
`retention_log` row. Runs as a background loop (every PAYMENTS_RETENTION_SWEEP_SECONDS)
and as ``python -m bitloot_payments retention [--dry-run]``."""

from collections.abc import Callable

from bitloot_payments.adapters.retention import audit, ipn_rules, payout_ipn_rules
from bitloot_payments.settings import Settings
from bitloot_runtime.db import UnitOfWork
from bitloot_runtime.retention import RetentionSweep


def ipn_log_sweep(settings: Settings, unit_of_work: Callable[[], UnitOfWork]) -> RetentionSweep:
    """The IPN logs' sweep, as configured (both logs under the same periods)."""
    policy = settings.ipn_retention()
    return RetentionSweep(
        unit_of_work=unit_of_work,
        rules=[*ipn_rules(policy), *payout_ipn_rules(policy)],
        audit=audit(),
        batch_size=settings.retention_batch_size,
    )
