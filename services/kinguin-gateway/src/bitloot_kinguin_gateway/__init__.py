"""BitLoot kinguin-gateway service."""
