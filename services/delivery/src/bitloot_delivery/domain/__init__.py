"""Delivery's rules, free of I/O: the key vault's envelope encryption, the keys as sealed,
reveal and claim links, the customer's emails and notices, retention, revocation, rate
limits and how each platform's keys are redeemed."""
