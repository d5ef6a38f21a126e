"""OHLCV bars from CSV, whatever the column names and the bar interval.

Read with the `csv` module straight into lists and numpy arrays (no DataFrame: a 45k-row file
loads in a few tens of milliseconds). Header names are matched case-insensitively:

* open time — the first of: open_time, time_open, opentime, timestamp, datetime, date_time,
  time, date, ts, t; an unnamed first column (a pandas index) as a last resort. Epoch numbers
  are read as s / ms / µs / ns by magnitude; text as ISO 8601 ("2025-04-03 17:05:00+00:00",
  "2021-12-31 23:01:00.000000", "2025-01-01T00:00:00Z", "2004-08-19"). **Text without a UTC
  offset is taken as UTC.** Times outside 1990–2100 are INVALID_TIME (a wrong unit, not data);
* close time (optional) — close_time, time_close, closetime: checked against the interval;
* open/high/low/close (or o/h/l/c) required; volume (volume, vol, v) optional: NaN without it.

The coin is the `coin` argument, else the file name's (`BTCUSDT_5m.csv` → BTC). The interval
is `interval_ms`, else the most common spacing; see `series` for order, duplicates and gaps.
"""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tailgate.backtest.data.bars import Bars
from tailgate.backtest.data.files import reading
from tailgate.backtest.data.issues import DataImportError, ImportReason, ImportReport, IssueLog
from tailgate.backtest.data.names import coin_from_name, interval_from_name
from tailgate.backtest.data.series import BarRows, assemble_bars, check_bar

__all__ = ["CLOSE_TIME_COLUMNS", "TIME_COLUMNS", "load_ohlcv_csv", "parse_time"]

TIME_COLUMNS = (
    "open_time",
    "time_open",
    "opentime",
    "timestamp",
    "datetime",
    "date_time",
    "time",
    "date",
    "ts",
    "t",
)
CLOSE_TIME_COLUMNS = ("close_time", "time_close", "closetime")
_PRICE_COLUMNS = {
    "open": ("open", "o"),
    "high": ("high", "h"),
    "low": ("low", "l"),
    "close": ("close", "c"),
}
_VOLUME_COLUMNS = ("volume", "vol", "v")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_MIN_MS = 631_152_000_000  # 1990-01-01: anything earlier is a unit mistake, not history
_MAX_MS = 4_102_444_800_000  # 2100-01-01
# Epoch magnitude → ms multiplier: seconds below 1e11 (year 5138), ms below 1e14, µs below 1e17.
_EPOCH_UNITS = ((1e11, 1_000.0), (1e14, 1.0), (1e17, 1e-3))
_NS_TO_MS = 1e-6


def parse_time(text: str) -> int | None:
    """Epoch (s / ms / µs / ns) or ISO 8601 text → UTC ms; None if neither or implausible."""
    s = text.strip()
    if not s:
        return None
    ms: int | None
    if s[0].isdigit() and s.replace(".", "", 1).isdigit():
        value = float(s)
        scale = next((k for limit, k in _EPOCH_UNITS if value < limit), _NS_TO_MS)
        exact_ms = scale == 1.0 and "." not in s
        ms = int(s) if exact_ms else round(value * scale)
    else:
        try:
            moment = datetime.fromisoformat(s)
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        ms = (moment - _EPOCH) // _MS
    return ms if _MIN_MS <= ms < _MAX_MS else None


def _find(index: dict[str, int], names: tuple[str, ...]) -> int | None:
    return next((index[n] for n in names if n in index), None)


class _Layout:
    """Where each field is in the header; a DataImportError naming what is missing."""

    def __init__(self, header: list[str], path: Path) -> None:
        index: dict[str, int] = {}
        for i, name in enumerate(header):
            index.setdefault(name.strip().lower().replace(" ", "_").replace("-", "_"), i)
        self.header = header
        self.width = len(header)
        time = _find(index, TIME_COLUMNS)
        if time is None and header and not header[0].strip():
            time = 0  # a DataFrame written with its index: the unnamed first column
        missing = [] if time is not None else [f"a time column ({', '.join(TIME_COLUMNS)})"]
        prices: dict[str, int] = {}
        for field, names in _PRICE_COLUMNS.items():
            at = _find(index, names)
            if at is None:
                missing.append(field)
            else:
                prices[field] = at
        if missing:
            raise DataImportError(
                path,
                f"not an OHLCV CSV: missing {', '.join(missing)} (header: {', '.join(header)})",
            )
        assert time is not None
        self.time = time
        self.close_time = _find(index, CLOSE_TIME_COLUMNS)
        self.prices = (prices["open"], prices["high"], prices["low"], prices["close"])
        self.volume = _find(index, _VOLUME_COLUMNS)


def load_ohlcv_csv(
    path: Path | str, *, coin: str | None = None, interval_ms: int | None = None
) -> tuple[Bars, ImportReport]:
    """One coin's bars from an OHLCV CSV, and the report of every skipped or odd line."""
    path = Path(path)
    name = coin or coin_from_name(path.stem)
    if not name:
        raise DataImportError(path, "cannot tell the coin from the file name: pass coin=")
    log = IssueLog(path)
    rows = BarRows()
    rows_read = 0
    with path.open(newline="", encoding="utf-8-sig") as handle, reading(path):
        reader = csv.reader(handle)
        header = next((row for row in reader if any(c.strip() for c in row)), None)
        if header is None:
            raise DataImportError(path, "empty file: no header, no rows")
        layout = _Layout(header, path)
        t_col, close_col, vol_col = layout.time, layout.close_time, layout.volume
        o_col, h_col, l_col, c_col = layout.prices
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue  # a blank line carries no data
            rows_read += 1
            line = reader.line_num
            if len(row) != layout.width:
                log.skip(
                    line,
                    ImportReason.MALFORMED_ROW,
                    f"{len(row)} columns, the header has {layout.width}",
                )
                continue
            time_ms = parse_time(row[t_col])
            if time_ms is None:
                detail = f"{header[t_col] or 'time'}={row[t_col]!r} is not a time"
                log.skip(line, ImportReason.INVALID_TIME, detail)
                continue
            close_ms = None
            if close_col is not None:
                close_ms = parse_time(row[close_col])
                if close_ms is None:
                    detail = f"{header[close_col]}={row[close_col]!r} is not a time"
                    log.skip(line, ImportReason.INVALID_TIME, detail)
                    continue
            try:
                o, h, low, c = (float(row[i]) for i in (o_col, h_col, l_col, c_col))
                v = float(row[vol_col]) if vol_col is not None else math.nan
            except ValueError:
                log.skip(line, ImportReason.MALFORMED_ROW, _first_non_number(row, layout))
                continue
            if vol_col is not None and math.isnan(v):
                log.skip(line, ImportReason.INVALID_VOLUME, "volume=nan")
                continue
            problem = check_bar(o, h, low, c, v)
            if problem is not None:
                log.skip(line, *problem)
                continue
            rows.append(line, time_ms, o, h, low, c, v, close_ms)
    bars = assemble_bars(
        rows,
        log,
        coin=name,
        interval_ms=interval_ms,
        name_interval_ms=interval_from_name(path.stem),
    )
    return bars, log.report(rows_read, len(bars))


def _first_non_number(row: list[str], layout: _Layout) -> str:
    columns = [*layout.prices, *([layout.volume] if layout.volume is not None else [])]
    for i in columns:
        try:
            float(row[i])
        except ValueError:
            return f"{layout.header[i]}={row[i]!r} is not a number"
    return "not a number"
