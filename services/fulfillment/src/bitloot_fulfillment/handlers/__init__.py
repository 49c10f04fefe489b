"""Fulfillment's use cases, a class each, on the repositories of `ports.FulfillmentWork`:
each consumed event applied to its order's saga, the admin's retries and hand deliveries,
the due timers fired in the background, and the figures the admin's home page reads."""
