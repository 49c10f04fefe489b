"""How long the admin keeps its audit of admin actions and the order activity it
projected from the bus: pure rules, no I/O.

Two years by default (`ADMIN_AUDIT_RETENTION_DAYS`): an incident is often found months
after it began and a yearly review looks back over the whole previous year, so the trail
must outlive both; beyond that it is personal data (who did what, from where) kept for
no purpose. Every row older than the period goes, the activity with the same period;
each batch removed writes its own audit row (actor ``retention``), which is young and
therefore kept."""

from datetime import timedelta
from typing import Final

from bitloot_runtime.retention import RetentionPeriod

ACTOR: Final = "retention"
ACTION: Final = "retention_swept"


def audit_retention(days: float) -> RetentionPeriod:
    return RetentionPeriod(timedelta(days=days))
