"""Fulfillment's use cases: one per event it consumes, each in the consumer's unit of work."""
