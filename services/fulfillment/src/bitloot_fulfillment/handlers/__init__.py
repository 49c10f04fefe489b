"""Fulfillment's use cases: each consumed event applied to its order's saga in the
consumer's unit of work, the admin's retries and hand deliveries, the due timers fired in
the background, and the figures the admin's home page reads."""
