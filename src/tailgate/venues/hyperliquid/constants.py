"""Hyperliquid venue facts, as data."""

__all__ = ["MIN_ORDER_NOTIONAL_USD"]

MIN_ORDER_NOTIONAL_USD = 10.0  # minimum order value; reduce-only orders are exempt
