"""HTTP routes and bus subscriptions of the kinguin-gateway service."""
