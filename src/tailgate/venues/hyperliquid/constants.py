"""Hyperliquid venue facts, as data."""

__all__ = ["MIN_ORDER_NOTIONAL_USD", "TAKER_FEE_RATE"]

MIN_ORDER_NOTIONAL_USD = 10.0  # minimum order value; reduce-only orders are exempt
TAKER_FEE_RATE = 0.00035  # base tier taker fee, a fraction of notional
