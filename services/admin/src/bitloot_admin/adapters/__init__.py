"""Adapters of the admin service: database tables, HTTP clients and other I/O."""
