"""Fulfillment's rules: the per-order saga and its timers, pure and free of I/O."""
