"""Kinguin sandbox."""
