"""The payments service's edges: public HTTP routes and the internal API."""
