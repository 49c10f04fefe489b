"""The payments service's edges: public HTTP routes and pages, NOWPayments' IPN callbacks,
the internal API, its bus subscriptions and the catalog command."""
