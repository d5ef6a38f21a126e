"""How much to put behind a copied trade (SPEC §C4).

We mirror the leader's conviction (the share of their account in the position), scaled by our
copy ratio and account, then trust recent form less when it is poor and leverage less when it
is high, and finally cap the position and floor it at a size worth an order.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from tailgate.domain.models import LeaderPosition
from tailgate.domain.params import DEFAULT_PARAMS, CopyParams

__all__ = [
    "LEVERAGE_PENALTY_ABOVE_MAX",
    "LEVERAGE_PENALTY_POINTS",
    "ROI_TIER_HIGH",
    "ROI_TIER_HIGH_MULTIPLIER",
    "ROI_TIER_LOW",
    "ROI_TIER_MID_MULTIPLIER",
    "ROI_TIER_NEGATIVE_MULTIPLIER",
    "compute_copy_size",
    "get_leverage_from_positions",
    "leverage_penalty",
    "roi_tier_multiplier",
]

# 7-day ROI tiers: > 10 % → 1.0; 0 … 10 % (both ends included) → 0.75; < 0 → 0.5.
ROI_TIER_HIGH = 0.10
ROI_TIER_LOW = 0.0
ROI_TIER_HIGH_MULTIPLIER = 1.0
ROI_TIER_MID_MULTIPLIER = 0.75
ROI_TIER_NEGATIVE_MULTIPLIER = 0.5

LEVERAGE_PENALTY_POINTS: tuple[tuple[float, float], ...] = (
    (1.0, 1.0),
    (2.0, 0.9),
    (3.0, 0.8),
    (5.0, 0.6),
    (10.0, 0.4),
    (20.0, 0.2),
)
"""(leverage, multiplier) breakpoints; linear in between, 1.0 at or below the first."""
LEVERAGE_PENALTY_ABOVE_MAX = 0.1
"""Multiplier for leverage above the last breakpoint (20x exactly still gets 0.2)."""


def roi_tier_multiplier(roi_7d: float) -> float:
    """1.0 above +10 %, 0.75 from 0 to +10 % inclusive, 0.5 below 0 (and for NaN: unknown
    form is treated as poor form)."""
    if roi_7d > ROI_TIER_HIGH:
        return ROI_TIER_HIGH_MULTIPLIER
    if roi_7d >= ROI_TIER_LOW:
        return ROI_TIER_MID_MULTIPLIER
    return ROI_TIER_NEGATIVE_MULTIPLIER


def leverage_penalty(leverage: float) -> float:
    """Piecewise-linear through `LEVERAGE_PENALTY_POINTS`; ≤ 1x → 1.0; > 20x → 0.1.

    NaN (unknown leverage) gets the harshest multiplier.
    """
    points = LEVERAGE_PENALTY_POINTS
    x0, y0 = points[0]
    if leverage <= x0:
        return y0
    for x1, y1 in points[1:]:
        if leverage <= x1:
            return y0 + (leverage - x0) / (x1 - x0) * (y1 - y0)
        x0, y0 = x1, y1
    return LEVERAGE_PENALTY_ABOVE_MAX


def compute_copy_size(
    trader_position_value: float,
    trader_account_value: float,
    our_account_value: float,
    trader_roi_7d: float,
    leverage: float,
    params: CopyParams = DEFAULT_PARAMS,
) -> float:
    """USD notional of our copy (SPEC §C4).

    (position / leader account) × COPY_RATIO × our account × ROI tier × leverage penalty,
    capped at min(our account × 10 %, MAX_SINGLE_POSITION_USD), then floored at $100.
    The floor comes last, as the spec orders it: the portfolio limits (step 8) and the venue
    minimum decide whether a $100 order is placed at all. A NaN size (from a NaN input that
    validation should have stopped) fails small, to the floor.

    Raises ValueError if `trader_account_value` is not > 0 (the allocation is undefined).
    """
    if not trader_account_value > 0:
        raise ValueError(f"trader_account_value must be > 0, got {trader_account_value!r}")
    allocation = trader_position_value / trader_account_value
    size = (
        allocation
        * params.copy_ratio
        * our_account_value
        * roi_tier_multiplier(trader_roi_7d)
        * leverage_penalty(leverage)
    )
    cap = min(
        our_account_value * params.max_position_fraction_of_account,
        params.max_single_position_usd,
    )
    if size > cap:
        size = cap
    if not size >= params.min_copy_size_usd:  # also a NaN size: fail small
        size = params.min_copy_size_usd
    return size


def get_leverage_from_positions(positions: Iterable[LeaderPosition], token: str) -> float:
    """The leader's leverage on `token`: 1.0 without a position there, never below 1.

    A non-finite leverage reads as `math.inf`, so it earns the harshest sizing penalty.
    """
    for position in positions:
        if position.coin == token:
            leverage = position.leverage
            if math.isnan(leverage):
                return math.inf
            return max(leverage, 1.0)
    return 1.0
