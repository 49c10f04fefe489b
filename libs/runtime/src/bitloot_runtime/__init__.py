"""BitLoot shared service runtime: settings, database, outbox, inbox, retry and parking,
topology, logging, health and metrics.
"""
