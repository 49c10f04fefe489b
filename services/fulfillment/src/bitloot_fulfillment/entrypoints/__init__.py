"""Entry points of the fulfillment service: its bus subscriptions."""
