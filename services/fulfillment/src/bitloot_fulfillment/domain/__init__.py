"""Fulfillment's rules: the per-order saga, pure and free of I/O."""
