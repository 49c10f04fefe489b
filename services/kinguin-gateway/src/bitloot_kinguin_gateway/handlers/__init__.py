"""Use cases of the kinguin-gateway service: one per consumed event, Kinguin webhook or
internal request, and the background passes (polling Kinguin, the catalog, the balance,
retention)."""
