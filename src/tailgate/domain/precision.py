"""Venue precision at the boundary: never send a price or size the venue would reject.

Hyperliquid perps: sizes have at most `szDecimals` decimals; prices have at most 5 significant
figures and at most `6 - szDecimals` decimals (integer prices are always allowed).
"""

from __future__ import annotations

import math

from tailgate.domain.models import Market

__all__ = ["MAX_SIGNIFICANT_FIGURES", "price_decimals", "round_price", "round_size"]

MAX_SIGNIFICANT_FIGURES = 5


def price_decimals(price: float, market: Market) -> int:
    """Decimals allowed for `price`: min(5 significant figures, max_price_decimals - szDecimals)."""
    if price <= 0 or not math.isfinite(price):
        raise ValueError(f"price must be positive and finite, got {price!r}")
    magnitude = math.floor(math.log10(price)) + 1  # digits before the decimal point
    by_sig_figs = max(MAX_SIGNIFICANT_FIGURES - magnitude, 0)
    return min(by_sig_figs, max(market.max_price_decimals - market.sz_decimals, 0))


def round_price(price: float, market: Market, *, is_buy: bool | None = None) -> float:
    """Round to the venue's price grid. With `is_buy`, round in the direction that keeps a limit
    no worse than asked (buy down, sell up) — so a cap stays a cap."""
    decimals = price_decimals(price, market)
    # Integer prices are always valid, even above 5 significant figures (e.g. BTC 104,567).
    factor = 10.0**decimals
    scaled = price * factor
    if is_buy is None:
        rounded = round(scaled)
    elif is_buy:
        rounded = math.floor(scaled + 1e-9)
    else:
        rounded = math.ceil(scaled - 1e-9)
    value = rounded / factor
    # Rounding can add a digit (99999.5 -> 100000); re-check the significant-figure rule.
    if value > 0 and price_decimals(value, market) < decimals:
        return round_price(value, market, is_buy=is_buy)
    return round(value, decimals)


def round_size(size: float, market: Market) -> float:
    """Round a size down to the venue's lot (never trade more than asked)."""
    if size < 0 or not math.isfinite(size):
        raise ValueError(f"size must be non-negative and finite, got {size!r}")
    factor = 10.0**market.sz_decimals
    return math.floor(size * factor + 1e-9) / factor
