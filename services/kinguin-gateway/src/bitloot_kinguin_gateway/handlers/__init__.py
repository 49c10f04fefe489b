"""Use cases of the kinguin-gateway service, one per consumed event or request."""
