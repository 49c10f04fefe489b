"""Delivery's use cases, one per module, each run in one unit of work."""
