"""Adapters of the kinguin-gateway service: database tables, HTTP clients and other I/O."""
