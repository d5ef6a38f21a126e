"""Position management (SPEC §C5): hard stop, trailing stop, time stop, profit tiers, leader checks.

Pure functions over a small position protocol, so the engine's stored positions, the
backtester's and a test's plain objects all work. Prices are marks; ratios are fractions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from tailgate.domain.models import MS_PER_HOUR, LeaderPosition, Side
from tailgate.domain.params import DEFAULT_PARAMS, CopyParams

__all__ = [
    "CloseReason",
    "LeaderCheck",
    "ManagedPosition",
    "TrailingStop",
    "check_trader_position",
    "compute_stop_price",
    "compute_trailing_stop_initial",
    "profit_tier_due",
    "stop_fill_price",
    "stop_loss_triggered",
    "time_stop_triggered",
    "trailing_stop_triggered",
    "update_trailing_stop",
]


class CloseReason(StrEnum):
    STOP_LOSS = "STOP_LOSS"
    TRAILING_STOP = "TRAILING_STOP"
    TIME_STOP = "TIME_STOP"
    PROFIT_TIER = "PROFIT_TIER"
    LEADER_CLOSED = "LEADER_CLOSED"
    LEADER_REDUCED = "LEADER_REDUCED"
    TRADER_LIQUIDATED = "TRADER_LIQUIDATED"


class ManagedPosition(Protocol):
    """What position management reads of a position."""

    side: Side
    entry_price: float
    opened_ms: int
    stop_price: float | None
    trailing_stop: float | None
    extreme_price: float | None  # highest (long) / lowest (short) mark since entry
    tiers_taken: int  # bitmask: bit i set once profit tier i was taken


def _fraction(percent: float) -> float:
    return percent / 100.0


def compute_stop_price(entry: float, side: Side, params: CopyParams = DEFAULT_PARAMS) -> float:
    """The hard stop placed at the venue on entry: long 100 → 95, short 100 → 105 (5 %)."""
    return entry * (1 - side.sign * _fraction(params.stop_loss_percent))


def compute_trailing_stop_initial(
    entry: float, side: Side, params: CopyParams = DEFAULT_PARAMS
) -> float:
    """The trailing stop at entry: long 100 → 92, short 100 → 108 (8 %)."""
    return entry * (1 - side.sign * _fraction(params.trailing_stop_percent))


@dataclass(frozen=True, slots=True)
class TrailingStop:
    extreme_price: float
    trailing_stop: float


def update_trailing_stop(
    pos: ManagedPosition, mark: float, params: CopyParams = DEFAULT_PARAMS
) -> TrailingStop:
    """Track the best mark since entry and move the trail with it, never back.

    Long: the trail rises to highest × (1 − 8 %) and never falls (a high of 115 → 105.8).
    Short: the mirror image — it only moves down.
    """
    trail_pct = _fraction(params.trailing_stop_percent)
    extreme = pos.extreme_price if pos.extreme_price is not None else pos.entry_price
    trail = (
        pos.trailing_stop
        if pos.trailing_stop is not None
        else compute_trailing_stop_initial(pos.entry_price, pos.side, params)
    )
    if not math.isfinite(mark) or mark <= 0:
        return TrailingStop(extreme, trail)
    if pos.side is Side.LONG:
        extreme = max(extreme, mark)
        trail = max(trail, extreme * (1 - trail_pct))
    else:
        extreme = min(extreme, mark)
        trail = min(trail, extreme * (1 + trail_pct))
    return TrailingStop(extreme, trail)


def trailing_stop_triggered(pos: ManagedPosition, mark: float) -> bool:
    """Long: mark ≤ trail; short: mark ≥ trail."""
    if pos.trailing_stop is None:
        return False
    if pos.side is Side.LONG:
        return mark <= pos.trailing_stop
    return mark >= pos.trailing_stop


def stop_loss_triggered(pos: ManagedPosition, mark: float) -> bool:
    """The hard stop, checked by the monitor too (the venue's stop order is the first line)."""
    if pos.stop_price is None:
        return False
    if pos.side is Side.LONG:
        return mark <= pos.stop_price
    return mark >= pos.stop_price


def time_stop_triggered(opened_ms: int, now_ms: int, params: CopyParams = DEFAULT_PARAMS) -> bool:
    """Held for MAX_POSITION_DURATION_HOURS (72 h) or more: 73 h closes, 71 h keeps."""
    return now_ms - opened_ms >= params.max_position_duration_hours * MS_PER_HOUR


def profit_tier_due(
    pos: ManagedPosition, mark: float, params: CopyParams = DEFAULT_PARAMS
) -> int | None:
    """The index of the next profit tier to take at this mark, or None.

    Tiers are taken once each, lowest first: at +10 % take 25 % of the position, at +20 % 33 %,
    at +40 % 50 % (fractions of what is held when the tier fires). A mark that jumps past
    several tiers takes them one per call, in order.
    """
    tiers = params.profit_tiers
    if not tiers or pos.entry_price <= 0 or not math.isfinite(mark):
        return None
    gain = (mark - pos.entry_price) / pos.entry_price * pos.side.sign
    for i, tier in enumerate(tiers):
        if pos.tiers_taken & (1 << i):
            continue
        return i if gain >= tier.gain - 1e-12 else None
    return None


class LeaderCheck(StrEnum):
    HOLDING = "holding"  # the leader still holds the position we copied
    CLOSED = "closed"  # the leader closed it (we saw the Close): mirror, not a liquidation
    LIQUIDATED = "liquidated"  # it vanished and no Close explains it


def check_trader_position(
    our_side: Side, leader_position: LeaderPosition | None, leader_close_seen: bool
) -> LeaderCheck:
    """Is the leader still in the trade we copied? (§C5 leader exit / leader liquidation)."""
    if leader_position is not None and leader_position.side is our_side:
        return LeaderCheck.HOLDING
    if leader_close_seen:
        return LeaderCheck.CLOSED
    return LeaderCheck.LIQUIDATED


def stop_fill_price(
    trigger: float, is_sell: bool, bar_open: float, bar_high: float, bar_low: float
) -> float | None:
    """Where a stop fills within one price bar, before slippage, or None if not touched.

    A sell stop (protecting a long) triggers when the bar trades at or below it: at the stop
    price when the bar opens above it, at the open when the bar gaps through it. A buy stop
    (protecting a short) mirrors it.
    """
    if is_sell:
        if bar_low > trigger:
            return None
        return bar_open if bar_open <= trigger else trigger
    if bar_high < trigger:
        return None
    return bar_open if bar_open >= trigger else trigger
