"""OHLCV bars of one coin as read-only numpy arrays, with a look-ahead-free lookup.

Arrays, not a DataFrame or a list of objects: the backtester asks "what was the last known
price at t" once per event, which is one `searchsorted` here (STYLE: no DataFrames in hot paths).

`time_ms` is the bar's OPEN time. A bar opening at T with interval I is only known at T + I,
so `at(t)` returns the last bar that has closed by t — never the bar still forming at t.
Missing bars are not filled: the times simply skip, and `gaps()` / the import report say where.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Bars"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

_PRICE_FIELDS = ("open", "high", "low", "close", "volume")


def _frozen(values: npt.ArrayLike, dtype: type[np.generic]) -> npt.NDArray[np.generic]:
    array = np.array(values, dtype=dtype, copy=True)
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False)
class Bars:
    """One coin's bars, oldest first; open times strictly increasing, every array read-only."""

    coin: str
    interval_ms: int
    time_ms: IntArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __post_init__(self) -> None:
        if self.interval_ms <= 0:
            raise ValueError(f"interval_ms must be > 0, got {self.interval_ms}")
        object.__setattr__(self, "time_ms", _frozen(self.time_ms, np.int64))
        n = len(self.time_ms)
        for name in _PRICE_FIELDS:
            array = _frozen(getattr(self, name), np.float64)
            if array.shape != (n,):
                raise ValueError(f"{name} has shape {array.shape}, time_ms has ({n},)")
            object.__setattr__(self, name, array)
        if n > 1 and not bool(np.all(np.diff(self.time_ms) > 0)):
            raise ValueError("time_ms must be strictly increasing")

    def __len__(self) -> int:
        return len(self.time_ms)

    @property
    def start_ms(self) -> int:
        """Open time of the first bar."""
        return int(self.time_ms[0])

    @property
    def end_ms(self) -> int:
        """Close time of the last bar: the first moment after the data."""
        return int(self.time_ms[-1]) + self.interval_ms

    def at(self, t_ms: int) -> int | None:
        """Index of the last bar closed at or before `t_ms` (open + interval <= t), else None."""
        index = int(np.searchsorted(self.time_ms, t_ms - self.interval_ms, side="right")) - 1
        return index if index >= 0 else None

    def close_at(self, t_ms: int) -> float | None:
        """The last price known at `t_ms`: the close of the last closed bar, else None."""
        index = self.at(t_ms)
        return None if index is None else float(self.close[index])

    def slice(self, t0_ms: int, t1_ms: int) -> Bars:
        """The bars opening in [t0_ms, t1_ms) (views on the same read-only arrays)."""
        lo = int(np.searchsorted(self.time_ms, t0_ms, side="left"))
        hi = int(np.searchsorted(self.time_ms, t1_ms, side="left"))
        return Bars(
            coin=self.coin,
            interval_ms=self.interval_ms,
            time_ms=self.time_ms[lo:hi],
            open=self.open[lo:hi],
            high=self.high[lo:hi],
            low=self.low[lo:hi],
            close=self.close[lo:hi],
            volume=self.volume[lo:hi],
        )

    def gaps(self) -> list[tuple[int, int]]:
        """(index of the bar after a gap, number of bars missing before it), oldest first."""
        steps = np.diff(self.time_ms)
        where = np.nonzero(steps != self.interval_ms)[0]
        return [(int(i) + 1, int(steps[i] // self.interval_ms) - 1) for i in where]
