"""BitLoot shared service runtime: settings, database and unit of work, outbox, inbox,
retry and parking, topology, the HTTP app and its edge, logging, tracing, health and
metrics, idempotency, retention, rate limits, and the sealing, tokens and signatures the
services share.
"""
