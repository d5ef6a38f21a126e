"""SPEC §C5 with its numbers: stops, trailing stops, time stop, profit tiers, leader checks."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tailgate.domain.models import MS_PER_HOUR, LeaderPosition, Side
from tailgate.domain.params import CopyParams
from tailgate.domain.stops import (
    LeaderCheck,
    check_trader_position,
    compute_stop_price,
    compute_trailing_stop_initial,
    profit_tier_due,
    stop_fill_price,
    stop_loss_triggered,
    time_stop_triggered,
    trailing_stop_triggered,
    update_trailing_stop,
)


@dataclass
class Pos:
    side: Side
    entry_price: float = 100.0
    opened_ms: int = 0
    stop_price: float | None = None
    trailing_stop: float | None = None
    extreme_price: float | None = None
    tiers_taken: int = 0


def test_hard_stop_long_100_is_95_and_short_100_is_105():
    assert compute_stop_price(100.0, Side.LONG) == pytest.approx(95.0)
    assert compute_stop_price(100.0, Side.SHORT) == pytest.approx(105.0)


def test_initial_trailing_stop_long_100_is_92_and_short_100_is_108():
    assert compute_trailing_stop_initial(100.0, Side.LONG) == pytest.approx(92.0)
    assert compute_trailing_stop_initial(100.0, Side.SHORT) == pytest.approx(108.0)


def test_trailing_stop_raises_to_105_8_after_high_of_115():
    t = update_trailing_stop(Pos(Side.LONG), 115.0)
    assert (t.extreme_price, t.trailing_stop) == (115.0, pytest.approx(105.8))


def test_a_falling_price_never_lowers_a_longs_trail():
    p = Pos(Side.LONG)
    t = update_trailing_stop(p, 115.0)
    p.extreme_price, p.trailing_stop = t.extreme_price, t.trailing_stop
    t2 = update_trailing_stop(p, 101.0)
    assert t2.trailing_stop == pytest.approx(105.8) and t2.extreme_price == 115.0


def test_a_shorts_trail_only_moves_down():
    p = Pos(Side.SHORT)
    t = update_trailing_stop(p, 85.0)
    assert t.trailing_stop == pytest.approx(85.0 * 1.08)  # 91.8
    p.extreme_price, p.trailing_stop = t.extreme_price, t.trailing_stop
    assert update_trailing_stop(p, 99.0).trailing_stop == pytest.approx(91.8)


def test_trailing_stop_triggers_at_or_through_the_trail():
    long_ = Pos(Side.LONG, trailing_stop=105.8)
    assert trailing_stop_triggered(long_, 105.8) and trailing_stop_triggered(long_, 100.0)
    assert not trailing_stop_triggered(long_, 105.81)
    short = Pos(Side.SHORT, trailing_stop=108.0)
    assert trailing_stop_triggered(short, 108.0) and not trailing_stop_triggered(short, 107.9)


def test_hard_stop_triggers_at_95_for_a_long_and_105_for_a_short():
    assert stop_loss_triggered(Pos(Side.LONG, stop_price=95.0), 95.0)
    assert not stop_loss_triggered(Pos(Side.LONG, stop_price=95.0), 95.01)
    assert stop_loss_triggered(Pos(Side.SHORT, stop_price=105.0), 105.0)


def test_time_stop_73h_closes_and_71h_keeps():
    assert time_stop_triggered(0, 73 * MS_PER_HOUR)
    assert time_stop_triggered(0, 72 * MS_PER_HOUR)
    assert not time_stop_triggered(0, 71 * MS_PER_HOUR)


def test_each_profit_tier_fires_once_in_order():
    p = Pos(Side.LONG)
    assert profit_tier_due(p, 109.9) is None
    assert profit_tier_due(p, 110.0) == 0  # +10 % → take 25 %
    p.tiers_taken |= 1 << 0
    assert profit_tier_due(p, 110.0) is None  # once
    assert profit_tier_due(p, 145.0) == 1  # a jump past two tiers takes them one at a time
    p.tiers_taken |= 1 << 1
    assert profit_tier_due(p, 145.0) == 2
    p.tiers_taken |= 1 << 2
    assert profit_tier_due(p, 200.0) is None


def test_profit_tiers_for_a_short_count_the_fall():
    assert profit_tier_due(Pos(Side.SHORT), 90.0) == 0
    assert profit_tier_due(Pos(Side.SHORT), 91.0) is None


def test_profit_tier_fractions_are_the_spec_table():
    tiers = CopyParams().profit_tiers
    assert [(t.gain, t.take_fraction) for t in tiers] == [(0.10, 0.25), (0.20, 0.33), (0.40, 0.50)]


def test_disabled_profit_tiers_never_fire():
    assert profit_tier_due(Pos(Side.LONG), 200.0, CopyParams(profit_tiers=None)) is None


def test_leader_still_holding_is_holding():
    held = LeaderPosition(coin="BTC", side=Side.LONG, size=1.0, entry_price=100.0)
    assert check_trader_position(Side.LONG, held, False) is LeaderCheck.HOLDING


def test_leader_vanishes_without_a_close_is_a_liquidation():
    assert check_trader_position(Side.LONG, None, False) is LeaderCheck.LIQUIDATED


def test_leader_vanishes_after_a_close_is_not_a_liquidation():
    assert check_trader_position(Side.LONG, None, True) is LeaderCheck.CLOSED


def test_leader_flipped_to_the_other_side_without_a_close_is_a_liquidation():
    flipped = LeaderPosition(coin="BTC", side=Side.SHORT, size=1.0, entry_price=100.0)
    assert check_trader_position(Side.LONG, flipped, False) is LeaderCheck.LIQUIDATED


def test_a_stop_inside_a_bar_fills_at_the_stop_and_a_gap_fills_at_the_open():
    assert stop_fill_price(95.0, True, bar_open=97.0, bar_high=98.0, bar_low=94.0) == 95.0
    assert stop_fill_price(95.0, True, bar_open=93.0, bar_high=94.0, bar_low=90.0) == 93.0
    assert stop_fill_price(95.0, True, bar_open=97.0, bar_high=98.0, bar_low=95.5) is None
    assert stop_fill_price(105.0, False, bar_open=103.0, bar_high=106.0, bar_low=102.0) == 105.0
    assert stop_fill_price(105.0, False, bar_open=107.0, bar_high=108.0, bar_low=106.0) == 107.0
