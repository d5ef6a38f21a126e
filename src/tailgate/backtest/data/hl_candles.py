"""Hyperliquid `candleSnapshot` JSON: a list of {t, T, s, i, o, h, l, c, v, n}.

`t` / `T` are the bar's open and close times (UTC ms, `T = t + interval − 1`), `s` the coin,
`i` the interval ("15m"), prices and volume decimal strings (numbers accepted, booleans not).

Candle loggers append live WebSocket candles to saved snapshots, and those rows do not always
belong: the BTC 15m file in the shared data ends with a candle of symbol "BTC-PERP" (the
logger's own label) among 5,001 "BTC" ones, one trade's o = h = l = c. Such a row is found by
what it disagrees with, not by its position: a symbol or interval other than the file's
dominant one, or a `T − t` that is not the interval, makes it a STRAY_ROW (skipped, reported).
The interval is the dominant `i` (the `interval_ms` argument wins); the coin is the `coin`
argument, else the dominant `s`. Issues carry the 0-based element index.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tailgate.backtest.data.bars import Bars
from tailgate.backtest.data.files import read_json
from tailgate.backtest.data.issues import DataImportError, ImportReason, ImportReport, IssueLog
from tailgate.backtest.data.names import coin_from_name, interval_from_name, parse_interval
from tailgate.backtest.data.series import BarRows, assemble_bars, check_bar

__all__ = ["load_candle_snapshot", "read_candle_snapshot"]

_REQUIRED = ("t", "o", "h", "l", "c")
_REQUIRED_WITH_CLOSE = ("t", "T", "o", "h", "l", "c")


def _number(value: object, key: str) -> float:
    if type(value) not in (str, int, float):
        raise ValueError(f"{key}: expected a number, got {type(value).__name__}")
    try:
        return float(value)  # type: ignore[arg-type]
    except ValueError:
        raise ValueError(f"{key}={str(value)[:40]!r} is not a number") from None


def _millis(value: object, key: str) -> int:
    if type(value) is int:
        return value
    if type(value) is str and value.strip().isdigit():
        return int(value)
    if type(value) is float and value.is_integer():
        return int(value)
    raise ValueError(f"{key}={str(value)[:40]!r} is not an integer ms time")


def _dominant(raw: list[object], key: str) -> str | None:
    values = Counter(
        item[key] for item in raw if isinstance(item, Mapping) and isinstance(item.get(key), str)
    )
    return values.most_common(1)[0][0] if values else None


def read_candle_snapshot(
    raw: list[object],
    *,
    path: Path | str = "<candleSnapshot>",
    coin: str | None = None,
    interval_ms: int | None = None,
) -> tuple[Bars, ImportReport]:
    """Bars from a decoded candleSnapshot list."""
    path = Path(path)
    log = IssueLog(path)
    symbol, label = _dominant(raw, "s"), _dominant(raw, "i")
    declared = interval_ms or (parse_interval(label) if label else None)
    from_symbol = (coin_from_name(symbol) or symbol) if symbol else None
    name = coin or from_symbol or coin_from_name(path.stem)
    if not name:
        raise DataImportError(path, "candles name no coin (`s`): pass coin=")
    rows = BarRows()
    has_close = any(isinstance(c, Mapping) and "T" in c for c in raw)
    required = _REQUIRED_WITH_CLOSE if has_close else _REQUIRED  # all or none carry `T`
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping):
            log.skip(index, ImportReason.MALFORMED_ROW, f"expected an object: {str(item)[:60]}")
            continue
        candle: Mapping[str, Any] = item
        missing = [k for k in required if k not in candle]
        if missing:
            log.skip(index, ImportReason.MALFORMED_ROW, f"missing field(s) {', '.join(missing)}")
            continue
        stray = _stray(candle, symbol, label)
        if stray:
            log.skip(index, ImportReason.STRAY_ROW, stray)
            continue
        try:
            t = _millis(candle["t"], "t")
            close_t = _millis(candle["T"], "T") if "T" in candle else None
            o, h, low, c = (_number(candle[k], k) for k in ("o", "h", "l", "c"))
            v = _number(candle["v"], "v") if "v" in candle else float("nan")
        except ValueError as exc:
            log.skip(index, ImportReason.MALFORMED_ROW, str(exc))
            continue
        problem = check_bar(o, h, low, c, v)
        if problem is not None:
            log.skip(index, *problem)
            continue
        rows.append(index, t, o, h, low, c, v, close_t)
    bars = assemble_bars(
        rows,
        log,
        coin=name,
        interval_ms=declared,
        name_interval_ms=interval_from_name(path.stem),
    )
    return bars, log.report(len(raw), len(bars))


def _stray(candle: Mapping[str, Any], symbol: str | None, label: str | None) -> str:
    """Why this candle does not belong with the others ('' if it does)."""
    if symbol is not None and candle.get("s", symbol) != symbol:
        return f"symbol {candle.get('s')!r} ≠ {symbol!r} of the other candles"
    if label is not None and candle.get("i", label) != label:
        return f"interval {candle.get('i')!r} ≠ {label!r} of the other candles"
    return ""


def load_candle_snapshot(
    path: Path | str, *, coin: str | None = None, interval_ms: int | None = None
) -> tuple[Bars, ImportReport]:
    """A file holding a candleSnapshot response body."""
    path = Path(path)
    raw = read_json(path)
    if not isinstance(raw, list):
        raise DataImportError(path, f"expected a JSON list of candles, got {type(raw).__name__}")
    if not raw:
        raise DataImportError(path, "no candles: the list is empty")
    return read_candle_snapshot(raw, path=path, coin=coin, interval_ms=interval_ms)
