"""What delivery counts beyond the runtime's metrics, labelled ``service=delivery`` like
them (`RuntimeMetrics.source`).

- ``bitloot_emails_total`` (kind, outcome): email attempts as their outcome is recorded
  (committed): ``accepted`` by the mail server, ``refused`` (to be retried), ``failed``
  (refused for good), ``unconfirmed`` (cut off: whether it went out is unknown);
- ``bitloot_emails_unsent`` / ``bitloot_oldest_unsent_email_seconds``: emails
  queued or being sent, not yet accepted, and the age of the oldest (0 if none), from
  the database before each scrape;
- ``bitloot_reveals_total`` (outcome): reveal page loads: ``revealed``, ``expired``,
  ``invalid``, ``refunded``, ``purged``, ``error``;
- ``bitloot_fresh_links_total`` (outcome): fresh links asked for: ``sent``,
  ``rate_limited``, ``refunded``;
- ``bitloot_time_to_key_seconds``: from payment.finished's time to the mail server
  accepting the order's key email.
"""

import functools
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bitloot_delivery.adapters.orm import emails
from bitloot_runtime.service import ServiceRuntime

# Sub-second buckets for our own pipeline (bench: ~0.1 s), the rest for Kinguin's dispatch;
# 60 s is the target the alert judges (deploy/prometheus/rules/bitloot.yml).
TIME_TO_KEY_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600)
# Both partial indexes of the statuses (ix_emails_pending, ix_emails_sending) serve it.
_UNCONFIRMED = select(
    func.count(),
    func.coalesce(func.extract("epoch", func.now() - func.min(emails.c.created_at)), 0),
).where(or_(emails.c.status == "pending", emails.c.status == "sending"))


class DeliveryMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.emails = Counter(
            "bitloot_emails",
            "Email attempts by kind and recorded outcome.",
            ["kind", "outcome"],
            registry=registry,
        )
        self.unconfirmed = Gauge(
            "bitloot_emails_unsent",
            "Emails queued or being sent, not yet accepted by the mail server.",
            registry=registry,
        )
        self.oldest_unconfirmed_seconds = Gauge(
            "bitloot_oldest_unsent_email_seconds",
            "Age of the oldest email not yet accepted (0 if none).",
            registry=registry,
        )
        self.reveals = Counter(
            "bitloot_reveals", "Reveal page loads, by outcome.", ["outcome"], registry=registry
        )
        self.fresh_links = Counter(
            "bitloot_fresh_links",
            "Fresh links asked for, by outcome.",
            ["outcome"],
            registry=registry,
        )
        # Exported at 0 from the start: an alert's increase() cannot see a series' first
        # event after a restart if the series is born at 1.
        self.fresh_links.labels(outcome="rate_limited")
        self.emails.labels(kind="delivery", outcome="unconfirmed")
        self.time_to_key = Histogram(
            "bitloot_time_to_key_seconds",
            "From the payment finishing to the mail server accepting the key email.",
            buckets=TIME_TO_KEY_BUCKETS,
            registry=registry,
        )

    def watch(self, runtime: ServiceRuntime) -> None:
        """Refresh the unconfirmed-email gauges from `runtime`'s database before each
        scrape."""
        runtime.add_gauge_refresh(functools.partial(self.refresh, runtime.engine))

    async def refresh(self, engine: AsyncEngine) -> None:
        async with engine.connect() as connection:
            count, oldest = (await connection.execute(_UNCONFIRMED)).one()
        self.unconfirmed.set(count)
        self.oldest_unconfirmed_seconds.set(float(oldest))

    def key_accepted(self, paid_at: datetime | None) -> None:
        """The key email of an order paid at `paid_at` was accepted just now."""
        if paid_at is not None:
            self.time_to_key.observe(max(0.0, (datetime.now(UTC) - paid_at).total_seconds()))
