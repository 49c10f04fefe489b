"""Adapters of the payments service: database tables, HTTP clients and other I/O."""
