"""Delivery's use cases, each run in a unit of work; a few related ones share a module."""
