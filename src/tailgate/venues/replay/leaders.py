"""The leader side of a replay: what a venue would say about a leader, rebuilt from fills.

Fills carry positions (start position ± size) and realised PnL, but not the account's value or
leverage. Those are estimated (`estimate_account_value`, `ASSUMED_LEADER_LEVERAGE`) — the only
invented numbers of the replay, kept here in one place.

Everything is precomputed once per leader as prefix arrays over the leader's fills (oldest
first), so "the state after the first n fills" is a lookup: the engine asks for leader state
on every trade and every monitor tick, and must not pay a walk over the history each time.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tailgate.domain.models import (
    MS_PER_DAY,
    LeaderboardEntry,
    LeaderFill,
    LeaderPosition,
    LeaderState,
    Side,
)

__all__ = [
    "ASSUMED_LEADER_LEVERAGE",
    "MIN_ACCOUNT_VALUE_USD",
    "PORTFOLIO_DAYS",
    "LeaderHistory",
    "estimate_account_value",
]

# Fills do not say which leverage a position used. 3× is a middle-of-the-road perp leverage,
# below the scoring cap (CopyParams.max_leverage = 5), so the assumption neither flatters nor
# disqualifies a leader on a number nobody observed.
ASSUMED_LEADER_LEVERAGE = 3.0
MIN_ACCOUNT_VALUE_USD = 1.0  # the estimate's floor: an account that traded is never worth ≤ 0
PORTFOLIO_DAYS = 90
_FLAT = 1e-9  # |position| at or below this is flat (float residue of start ± size)


def estimate_account_value(peak_gross_notional: float, realised_pnl: float) -> float:
    """A leader's account value, estimated from fills alone.

    A trader cannot open more notional than their equity times their leverage, so the largest
    gross position ever held (Σ |size| × entry over coins: no price feed needed), divided by an
    assumed leverage, is a lower-bound-style estimate of the capital they started with; the PnL
    they realised since (closed PnL net of fees) is added.
    It is monotone — more notional or more profit never lowers it — and uses only the past, so
    it can be computed at any moment of a replay without look-ahead. Floored at
    MIN_ACCOUNT_VALUE_USD so that a losing account still divides (ROI) sensibly.
    """
    value = peak_gross_notional / ASSUMED_LEADER_LEVERAGE + realised_pnl
    return max(value, MIN_ACCOUNT_VALUE_USD)


@dataclass(frozen=True, slots=True)
class _CoinTrack:
    """One coin's position after each fill in it: fill index, signed size, entry price."""

    at: list[int]
    size: list[float]
    entry: list[float]


class LeaderHistory:
    """One leader's fills and the state after each of them."""

    def __init__(self, leader: str, fills: Sequence[LeaderFill]) -> None:
        self.leader = leader
        self.fills = tuple(fills)  # oldest first
        n = len(self.fills)
        self.time_ms: npt.NDArray[np.int64] = np.array([f.time_ms for f in self.fills], np.int64)
        realised = np.empty(n)
        peak = np.empty(n)
        volume = np.empty(n)
        tracks: dict[str, _CoinTrack] = {}
        held: dict[str, tuple[float, float]] = {}  # coin -> (signed size, entry)
        gross = top = pnl = traded = 0.0
        for i, f in enumerate(self.fills):
            size, entry = _after(held.get(f.coin), f)
            old_size, old_entry = held.get(f.coin, (0.0, 0.0))
            gross += abs(size) * entry - abs(old_size) * old_entry
            if abs(size) <= _FLAT:
                held.pop(f.coin, None)
            else:
                held[f.coin] = (size, entry)
            track = tracks.setdefault(f.coin, _CoinTrack([], [], []))
            track.at.append(i)
            track.size.append(size if abs(size) > _FLAT else 0.0)
            track.entry.append(entry)
            top = max(top, gross)
            pnl += f.closed_pnl - f.fee
            traded += f.size * f.price
            realised[i], peak[i], volume[i] = pnl, top, traded
        self._realised, self._peak, self._volume = realised, peak, volume
        self._tracks = tracks

    def count_at(self, t_ms: int) -> int:
        """Number of fills stamped at or before `t_ms`."""
        return int(np.searchsorted(self.time_ms, t_ms, side="right"))

    def account_value(self, count: int) -> float:
        """Estimated account value after the first `count` fills (0 before any: no account)."""
        if count <= 0:
            return 0.0
        return estimate_account_value(
            float(self._peak[count - 1]), float(self._realised[count - 1])
        )

    def realised(self, count: int) -> float:
        return float(self._realised[count - 1]) if count > 0 else 0.0

    def volume(self, count: int) -> float:
        return float(self._volume[count - 1]) if count > 0 else 0.0

    def positions(
        self, count: int, mark: Callable[[str], float | None]
    ) -> tuple[LeaderPosition, ...]:
        """Open positions after the first `count` fills, valued at `mark` (else entry)."""
        out: list[LeaderPosition] = []
        for coin in sorted(self._tracks):
            track = self._tracks[coin]
            k = bisect.bisect_left(track.at, count) - 1  # last change among the first `count`
            if k < 0 or track.size[k] == 0.0:
                continue
            size, entry = track.size[k], track.entry[k]
            price = mark(coin) or entry
            out.append(
                LeaderPosition(
                    coin=coin,
                    side=Side.of(size),
                    size=abs(size),
                    entry_price=entry,
                    leverage=ASSUMED_LEADER_LEVERAGE,
                    position_value=abs(size) * price,
                )
            )
        return tuple(out)

    def state(self, count: int, now_ms: int, mark: Callable[[str], float | None]) -> LeaderState:
        return LeaderState(
            leader=self.leader,
            account_value=self.account_value(count),
            positions=self.positions(count, mark),
            time_ms=now_ms,
        )

    def leaderboard_entry(
        self, window_days: int, count_now: int, count_start: int
    ) -> LeaderboardEntry:
        """PnL (closed PnL − fees) of the fills between the window's start and now; ROI against
        the account value at the window's start.

        An account first seen inside the window had no estimate at its start (value 0): its
        base is the capital its trading up to now implies (peak notional / leverage, no PnL).
        Its value just after its first fill would be far too small — one small opening trade —
        and would inflate the ROI by orders of magnitude.
        """
        pnl = self.realised(count_now) - self.realised(count_start)
        if count_start > 0:
            base = self.account_value(count_start)
        else:
            base = estimate_account_value(float(self._peak[count_now - 1]), 0.0)
        return LeaderboardEntry(
            leader=self.leader,
            window_days=window_days,
            account_value=self.account_value(count_now),
            pnl=pnl,
            roi=pnl / base,
            volume=self.volume(count_now) - self.volume(count_start),
        )

    def portfolio(self, now_ms: int, delay_ms: int) -> list[tuple[int, float]]:
        """Daily (time, estimated account value) for the last PORTFOLIO_DAYS days up to now,
        from the day the first fill was known."""
        if not len(self.time_ms) or int(self.time_ms[0]) + delay_ms > now_ms:
            return []
        first_known = int(self.time_ms[0]) + delay_ms
        points = [now_ms - k * MS_PER_DAY for k in range(PORTFOLIO_DAYS, -1, -1)]
        return [
            (t, self.account_value(self.count_at(t - delay_ms))) for t in points if t >= first_known
        ]


def _after(held: tuple[float, float] | None, fill: LeaderFill) -> tuple[float, float]:
    """(signed size, entry) after `fill`. The size is the fill's own end position (the venue's
    truth, even when the export misses fills); the entry is averaged on an increase, kept on a
    reduce, and reset to the fill price on an open or a flip."""
    end = fill.end_position
    start = fill.start_position
    if abs(end) <= _FLAT:
        return 0.0, fill.price
    if abs(start) <= _FLAT or (start > 0) != (end > 0):
        return end, fill.price  # opened, or flipped through zero
    entry = held[1] if held is not None and (held[0] > 0) == (start > 0) else fill.price
    if abs(end) > abs(start):  # added: size-weighted average entry
        added = abs(end) - abs(start)
        return end, (abs(start) * entry + added * fill.price) / abs(end)
    return end, entry
