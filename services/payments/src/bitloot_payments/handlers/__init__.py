"""Use cases of the payments service, one per module, each in one unit of work."""
