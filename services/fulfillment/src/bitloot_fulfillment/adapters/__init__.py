"""Adapters of the fulfillment service: database tables, HTTP clients and other I/O."""
