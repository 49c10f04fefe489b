"""Use cases of the payments service, each run in a unit of work; a few related ones share
a module."""
