"""SPEC §C4 sizing: the worked examples, every leverage breakpoint, the ROI tiers."""

from __future__ import annotations

import itertools
import math

import pytest

from tailgate.domain.models import LeaderPosition, Side
from tailgate.domain.params import CopyParams
from tailgate.domain.sizing import (
    compute_copy_size,
    get_leverage_from_positions,
    leverage_penalty,
    roi_tier_multiplier,
)


def size(
    *,
    position: float = 20_000.0,
    account: float = 100_000.0,
    ours: float = 100_000.0,
    roi_7d: float = 0.15,
    leverage: float = 1.0,
    params: CopyParams | None = None,
) -> float:
    """The §C4 base case: leader allocation 20 % (20k of 100k), our account 100k, 1x."""
    if params is None:
        return compute_copy_size(position, account, ours, roi_7d, leverage)
    return compute_copy_size(position, account, ours, roi_7d, leverage, params)


# --- worked examples (§C4) --------------------------------------------------------------------


def test_copy_size_is_10000_for_7d_roi_of_15_percent():
    assert size(roi_7d=0.15) == pytest.approx(10_000.0)


def test_copy_size_is_7500_for_7d_roi_of_5_percent():
    assert size(roi_7d=0.05) == pytest.approx(7_500.0)


def test_copy_size_is_5000_for_7d_roi_of_minus_2_percent():
    assert size(roi_7d=-0.02) == pytest.approx(5_000.0)


def test_copy_size_is_2000_at_20x_leverage():
    assert size(leverage=20.0) == pytest.approx(2_000.0)


def test_uncapped_125k_on_a_1_25m_account_is_capped_at_50000():
    # 0.20 × 0.5 × 1,250,000 = 125,000; cap = min(125,000, 50,000)
    assert size(ours=1_250_000.0) == pytest.approx(50_000.0)


def test_copy_size_is_capped_at_10_percent_of_our_100k_account():
    # leader allocation 50 % → 0.5 × 0.5 × 100,000 = 25,000 → capped at 10,000
    assert size(position=50_000.0) == pytest.approx(10_000.0)


def test_10_percent_cap_binds_below_the_50000_single_position_cap():
    # our account 300k: 10 % is 30,000 < 50,000; uncapped would be 0.5 × 0.5 × 300k = 75,000
    assert size(position=50_000.0, ours=300_000.0) == pytest.approx(30_000.0)


def test_copy_size_is_floored_at_100_dollars():
    # allocation 0.1 % → 0.001 × 0.5 × 100,000 = 50 → floored at 100
    assert size(position=100.0) == pytest.approx(100.0)


def test_floor_applies_after_the_cap_on_a_tiny_account():
    # our account 500: cap = 50, the $100 floor comes last
    assert size(ours=500.0) == pytest.approx(100.0)


def test_copy_size_uses_copy_ratio_from_params():
    assert size(params=CopyParams(copy_ratio=0.25)) == pytest.approx(5_000.0)


def test_copy_size_rejects_a_leader_account_of_zero():
    with pytest.raises(ValueError, match="trader_account_value"):
        size(account=0.0)


def test_copy_size_rejects_a_negative_or_nan_leader_account():
    with pytest.raises(ValueError):
        size(account=-1.0)
    with pytest.raises(ValueError):
        size(account=math.nan)


def test_nan_position_value_fails_small_to_the_floor():
    assert size(position=math.nan) == pytest.approx(100.0)


# --- ROI tier ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("roi_7d", "multiplier"),
    [
        (0.15, 1.0),
        (0.1001, 1.0),
        (0.10, 0.75),  # exactly 10 % is the middle tier
        (0.05, 0.75),
        (0.0, 0.75),  # exactly 0 is the middle tier
        (-0.0001, 0.5),
        (-0.02, 0.5),
        (math.nan, 0.5),
    ],
)
def test_roi_tier_multiplier(roi_7d: float, multiplier: float):
    assert roi_tier_multiplier(roi_7d) == multiplier


# --- leverage penalty -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("leverage", "penalty"),
    [
        (0.5, 1.0),
        (1.0, 1.0),
        (2.0, 0.9),
        (3.0, 0.8),
        (5.0, 0.6),
        (10.0, 0.4),
        (20.0, 0.2),  # exactly 20x is still on the line
        (20.0001, 0.1),
        (100.0, 0.1),
    ],
)
def test_leverage_penalty_at_each_breakpoint(leverage: float, penalty: float):
    assert leverage_penalty(leverage) == pytest.approx(penalty)


@pytest.mark.parametrize(
    ("leverage", "penalty"),
    [(1.5, 0.95), (2.5, 0.85), (4.0, 0.7), (7.5, 0.5), (15.0, 0.3), (25.0, 0.1)],
)
def test_leverage_penalty_interpolates_between_breakpoints(leverage: float, penalty: float):
    assert leverage_penalty(leverage) == pytest.approx(penalty)


def test_leverage_penalty_is_non_increasing():
    levels = [1.0 + i * 0.25 for i in range(100)]
    penalties = [leverage_penalty(x) for x in levels]
    assert all(a >= b for a, b in itertools.pairwise(penalties))


def test_unknown_leverage_gets_the_harshest_penalty():
    assert leverage_penalty(math.nan) == pytest.approx(0.1)


# --- get_leverage_from_positions --------------------------------------------------------------


def position(coin: str, leverage: float) -> LeaderPosition:
    return LeaderPosition(coin=coin, side=Side.LONG, size=1.0, entry_price=100.0, leverage=leverage)


def test_leverage_is_read_from_the_position_in_the_token():
    positions = [position("BTC", 10.0), position("ETH", 3.0)]
    assert get_leverage_from_positions(positions, "ETH") == 3.0


def test_leverage_is_1_without_a_position_in_the_token():
    assert get_leverage_from_positions([position("BTC", 10.0)], "SOL") == 1.0
    assert get_leverage_from_positions([], "SOL") == 1.0


def test_leverage_is_never_below_1():
    assert get_leverage_from_positions([position("BTC", 0.5)], "BTC") == 1.0


def test_nan_leverage_reads_as_infinite():
    assert get_leverage_from_positions([position("BTC", math.nan)], "BTC") == math.inf
