"""BitLoot delivery service."""
