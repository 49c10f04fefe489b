"""Delivery's use cases, one class each (`__call__`), on the ports of `ports`."""
