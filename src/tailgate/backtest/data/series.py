"""From rows that parsed to a clean bar series: order, interval, grid, duplicates, gaps.

Shared by every bar format so a CSV and a candleSnapshot file are judged by the same rules:

* rows out of time order are kept and sorted (stably), with an UNSORTED_ROW note per line that
  is earlier than a row above it — a file in the wrong order is still one time series;
* the interval is the one declared (argument, candle `i`), else the most common spacing of
  distinct open times; a file name that says otherwise is noted (INTERVAL_MISMATCH);
* a bar whose own close time says another length is a STRAY_ROW; one whose open time is off the
  series' grid (the most common `time % interval`) is an OFF_GRID_BAR; both are skipped — but
  when most bars are off the grid the file is no fixed-interval series (monthly bars) and is
  rejected rather than cut down to the few that fit;
* the same open time twice: identical prices → the first is kept (DUPLICATE_BAR for the rest);
  different prices → nobody knows which is right, so *every* copy is dropped
  (CONFLICTING_BARS) and the hole is reported like any other gap;
* gaps are never filled: MISSING_BARS on the bar after the gap says how many are missing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from tailgate.backtest.data.bars import Bars
from tailgate.backtest.data.issues import DataImportError, ImportReason, IssueLog
from tailgate.backtest.data.names import format_interval, iso_utc

__all__ = ["BarRows", "assemble_bars", "check_bar"]

_SHOWN_ISSUES = 3  # issues quoted in a "no valid bars" error


def check_bar(
    o: float, h: float, low: float, c: float, v: float
) -> tuple[ImportReason, str] | None:
    """None if the bar is usable, else (reason, detail). NaN volume means 'not given'."""
    for name, price in (("open", o), ("high", h), ("low", low), ("close", c)):
        if not (math.isfinite(price) and price > 0):
            return ImportReason.INVALID_PRICE, f"{name}={price!r}"
    if h < low:
        return ImportReason.INCONSISTENT_BAR, f"high {h!r} < low {low!r}"
    for name, price in (("open", o), ("close", c)):
        if not low <= price <= h:
            return ImportReason.INCONSISTENT_BAR, f"{name} {price!r} outside [{low!r}, {h!r}]"
    if math.isinf(v) or v < 0:  # NaN compares False: an absent volume passes
        return ImportReason.INVALID_VOLUME, f"volume={v!r}"
    return None


@dataclass(slots=True)
class BarRows:
    """Rows that passed the per-row checks, in file order, with their line numbers."""

    lines: list[int] = field(default_factory=list)
    time_ms: list[int] = field(default_factory=list)
    open: list[float] = field(default_factory=list)
    high: list[float] = field(default_factory=list)
    low: list[float] = field(default_factory=list)
    close: list[float] = field(default_factory=list)
    volume: list[float] = field(default_factory=list)
    close_time_ms: list[int] = field(default_factory=list)  # empty when the format has none

    def append(
        self,
        line: int,
        time_ms: int,
        o: float,
        h: float,
        low: float,
        c: float,
        v: float,
        close_time_ms: int | None = None,
    ) -> None:
        self.lines.append(line)
        self.time_ms.append(time_ms)
        self.open.append(o)
        self.high.append(h)
        self.low.append(low)
        self.close.append(c)
        self.volume.append(v)
        if close_time_ms is not None:
            self.close_time_ms.append(close_time_ms)

    def __len__(self) -> int:
        return len(self.lines)


def _no_bars(log: IssueLog, why: str) -> DataImportError:
    shown = "; ".join(str(i) for i in log.issues[:_SHOWN_ISSUES])
    return DataImportError(log.path, f"{why}" + (f" (first issues: {shown})" if shown else ""))


def _infer_interval(times: np.ndarray) -> int | None:
    """The most common spacing of distinct open times (ties: the smaller). Unlike the median,
    a few stray or off-grid rows in a short file cannot shift it to a spacing nobody used."""
    distinct = np.unique(times)
    if len(distinct) < 2:
        return None
    spacings, counts = np.unique(np.diff(distinct), return_counts=True)
    return int(spacings[np.argmax(counts)])


def assemble_bars(
    rows: BarRows,
    log: IssueLog,
    *,
    coin: str,
    interval_ms: int | None = None,
    name_interval_ms: int | None = None,
) -> Bars:
    """Sort, check and de-duplicate `rows` into `Bars`; every problem goes to `log`."""
    if not rows:
        raise _no_bars(log, "no valid bars")
    lines = np.asarray(rows.lines, dtype=np.int64)
    times = np.asarray(rows.time_ms, dtype=np.int64)
    prices = np.column_stack(
        [np.asarray(getattr(rows, k), dtype=np.float64) for k in ("open", "high", "low", "close")]
    )
    volume = np.asarray(rows.volume, dtype=np.float64)
    closes = np.asarray(rows.close_time_ms, dtype=np.int64) if rows.close_time_ms else None

    # 1. Order: note every line earlier than a line above it, then sort stably.
    if len(times) > 1:
        running_max = np.maximum.accumulate(times)
        for i in np.nonzero(times[1:] < running_max[:-1])[0] + 1:
            log.note(
                int(lines[i]),
                ImportReason.UNSORTED_ROW,
                f"open time {iso_utc(int(times[i]))} is before {iso_utc(int(running_max[i - 1]))}"
                " above it; sorted into place",
            )
    order = np.argsort(times, kind="stable")
    lines, times, prices, volume = lines[order], times[order], prices[order], volume[order]
    if closes is not None:
        closes = closes[order]

    # 2. Interval: declared, else the most common spacing; a file name that disagrees is noted.
    inferred = _infer_interval(times)
    interval = interval_ms or inferred
    if interval is None or interval <= 0:
        raise _no_bars(log, "one bar only: cannot infer the bar interval (pass interval_ms)")
    for what, other in (
        ("the data's most common spacing", inferred),
        ("the file name", name_interval_ms),
    ):
        if other is not None and other != interval:
            log.note(
                None,
                ImportReason.INTERVAL_MISMATCH,
                f"using interval {format_interval(interval)}; {what} says {format_interval(other)}",
            )

    keep = np.ones(len(times), dtype=bool)
    # 3. A bar whose close time says another length does not belong to this series.
    if closes is not None:
        length = closes - times
        for i in np.nonzero((length != interval) & (length != interval - 1))[0]:
            keep[i] = False
            log.skip(
                int(lines[i]),
                ImportReason.STRAY_ROW,
                f"bar length {int(length[i]) + 1} ms ≠ interval {format_interval(interval)}",
            )
    # 4. Grid: the most common phase of open times; anything else is off the grid.
    phases = times % interval
    values, counts = np.unique(phases[keep], return_counts=True)
    if len(values):
        anchor = int(values[np.argmax(counts)])
        off = np.nonzero(keep & (phases != anchor))[0]
        if 2 * len(off) > int(keep.sum()):
            raise _no_bars(
                log,
                f"not a fixed-interval series: {len(off)} of {int(keep.sum())} open times are off"
                f" the {format_interval(interval)} grid (calendar months are not supported)",
            )
        for i in off:
            keep[i] = False
            log.skip(
                int(lines[i]),
                ImportReason.OFF_GRID_BAR,
                f"open time {iso_utc(int(times[i]))} is off the {format_interval(interval)} grid",
            )
    # 5. Duplicates: same open time. Identical prices → keep the first; else drop them all.
    kept = np.nonzero(keep)[0]
    same = np.nonzero(times[kept][1:] == times[kept][:-1])[0]
    if len(same):
        _drop_duplicates(kept, same, lines, times, prices, volume, keep, log)

    # 6. Gaps: reported on the bar after the gap, never filled.
    kept = np.nonzero(keep)[0]
    if len(kept) == 0:
        raise _no_bars(log, "no valid bars")
    steps = np.diff(times[kept])
    for j in np.nonzero(steps > interval)[0]:
        after = kept[j + 1]
        missing = int(steps[j] // interval) - 1
        log.note(
            int(lines[after]),
            ImportReason.MISSING_BARS,
            f"{missing} bar(s) of {format_interval(interval)} missing between "
            f"{iso_utc(int(times[kept[j]]))} and {iso_utc(int(times[after]))}",
        )
    return Bars(
        coin=coin,
        interval_ms=interval,
        time_ms=times[kept],
        open=prices[kept, 0],
        high=prices[kept, 1],
        low=prices[kept, 2],
        close=prices[kept, 3],
        volume=volume[kept],
    )


def _drop_duplicates(
    kept: np.ndarray,
    same: np.ndarray,
    lines: np.ndarray,
    times: np.ndarray,
    prices: np.ndarray,
    volume: np.ndarray,
    keep: np.ndarray,
    log: IssueLog,
) -> None:
    """Resolve each run of equal open times; `same[j]` says kept[j] and kept[j + 1] are equal."""
    runs: list[list[int]] = []
    previous = -2
    for j in (int(x) for x in same):
        if j == previous + 1:
            runs[-1].append(int(kept[j + 1]))
        else:
            runs.append([int(kept[j]), int(kept[j + 1])])
        previous = j
    for first, *rest in runs:
        first_line = int(lines[first])
        if all(np.array_equal(prices[r], prices[first]) for r in rest):
            for r in rest:
                keep[r] = False
                v, v_first = float(volume[r]), float(volume[first])
                differs = not (v == v_first or np.isnan(v))
                log.skip(
                    int(lines[r]),
                    ImportReason.DUPLICATE_BAR,
                    f"same bar as line {first_line} ({iso_utc(int(times[r]))}); first kept"
                    + (f"; volume {v!r} ≠ {v_first!r}" if differs else ""),
                )
            continue
        listed = ", ".join(str(int(lines[m])) for m in (first, *rest))
        for m in (first, *rest):
            keep[m] = False
            log.skip(
                int(lines[m]),
                ImportReason.CONFLICTING_BARS,
                f"lines {listed} give different prices for {iso_utc(int(times[m]))}; all dropped",
            )
