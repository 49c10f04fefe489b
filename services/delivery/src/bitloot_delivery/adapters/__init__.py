"""Adapters of the delivery service: database tables, HTTP clients and other I/O."""
