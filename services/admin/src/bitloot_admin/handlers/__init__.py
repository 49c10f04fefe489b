"""Use cases of the admin service, one per function."""
