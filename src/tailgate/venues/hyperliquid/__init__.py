"""Hyperliquid adapter. `parse` turns the venue's JSON into domain objects."""
