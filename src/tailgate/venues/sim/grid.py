"""Vectorised venue precision for the simulator's bulk generation.

`tailgate.domain.precision.round_price` is the reference rule (5 significant figures, at most
`6 - szDecimals` decimals, integers always allowed). Calling it once per simulated fill would cost
seconds, so generation rounds whole arrays here with the same arithmetic (same IEEE operations,
same half-to-even rounding); a test pins the two to identical results.
"""

from __future__ import annotations

import numpy as np

from tailgate.domain.precision import MAX_SIGNIFICANT_FIGURES

__all__ = ["grid_decimals", "round_prices"]

_PERP_MAX_PRICE_DECIMALS = 6


def grid_decimals(prices: np.ndarray, sz_decimals: int) -> np.ndarray:
    """Decimals allowed for each (positive) price."""
    magnitude = np.floor(np.log10(prices)) + 1
    by_sig_figs = np.maximum(MAX_SIGNIFICANT_FIGURES - magnitude, 0)
    cap = max(_PERP_MAX_PRICE_DECIMALS - sz_decimals, 0)
    return np.minimum(by_sig_figs, cap).astype(np.int64)


def round_prices(prices: np.ndarray, sz_decimals: int) -> np.ndarray:
    """Round positive prices to the nearest point of the venue's price grid."""
    prices = np.asarray(prices, dtype=np.float64)
    decimals = grid_decimals(prices, sz_decimals)
    factor = 10.0**decimals
    rounded = np.round(prices * factor) / factor
    # Rounding can add a digit (99999.5 -> 100000): re-round where the grid got coarser.
    coarser = grid_decimals(rounded, sz_decimals) < decimals
    if coarser.any():
        rounded[coarser] = round_prices(rounded[coarser], sz_decimals)
    return rounded
