"""What payments counts beyond the runtime's metrics, labelled ``service=payments`` like
them (`RuntimeMetrics.source`)."""

from prometheus_client import CollectorRegistry, Counter


class PaymentsMetrics:
    """- ``recovered_by_poll``: payments that paid their order from a status the reconciler
      polled (its IPN never came, or came too late).
    - ``ipn_failures`` (kind): failed attempts at applying an IPN, ``transient`` (retried
      without limit) or ``defect`` (given up after repeated identical failures).
    - ``reconcile_polls`` (outcome): NOWPayments asked about an order by the reconciler:
      ``changed`` (it knew something we did not), ``unchanged``, ``failed``.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.recovered_by_poll = Counter(
            "bitloot_payments_recovered_by_poll",
            "Payments that paid their order from a polled status rather than an IPN.",
            registry=registry,
        )
        self.ipn_failures = Counter(
            "bitloot_ipn_processing_failures",
            "Failed attempts at applying an IPN, by kind (transient or defect).",
            ["kind"],
            registry=registry,
        )
        self.reconcile_polls = Counter(
            "bitloot_payments_reconcile_polls",
            "Orders the reconciler asked NOWPayments about, by outcome.",
            ["outcome"],
            registry=registry,
        )
