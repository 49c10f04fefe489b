"""Delivery's rules: the key vault's envelope encryption, pure and free of I/O."""
