"""Pick the reader for a file, and load a whole folder of price files.

Formats are told apart by extension, then by content: `.json` (or a file starting with '[')
is venue JSON — `userFills` for fills, `candleSnapshot` for bars; anything else is CSV, and
the CSV's header decides whether it is what the caller asked for (a missing column is a
`DataImportError` naming it).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from pathlib import Path

from tailgate.backtest.data.bars import Bars
from tailgate.backtest.data.files import first_char
from tailgate.backtest.data.hl_candles import load_candle_snapshot
from tailgate.backtest.data.hl_fills_csv import load_hl_fills_csv
from tailgate.backtest.data.hl_fills_json import load_user_fills_json
from tailgate.backtest.data.issues import (
    DataImportError,
    ImportIssue,
    ImportReason,
    ImportReport,
)
from tailgate.backtest.data.names import format_interval
from tailgate.backtest.data.ohlcv_csv import load_ohlcv_csv
from tailgate.domain.models import LeaderFill

__all__ = ["PRICE_FILE_SUFFIXES", "load_bars", "load_fills", "load_price_dir"]

PRICE_FILE_SUFFIXES = (".csv", ".json")


def _is_json(path: Path) -> bool:
    suffix = path.suffix.lower()
    if suffix in (".json", ".csv"):
        return suffix == ".json"
    return first_char(path) in ("[", "{")


def load_fills(
    path: Path | str,
    *,
    leader: str | None = None,
    known_coins: Collection[str] | None = None,
) -> tuple[list[LeaderFill], ImportReport]:
    """Leader perp fills, oldest first, from a Hyperliquid fills CSV or a `userFills` JSON.

    `leader`: for CSV, keep only this account's fills (others are counted as OTHER_LEADER);
    for JSON, the fills' owner (else the address in the file name). `known_coins`: fills of
    other coins are skipped as UNKNOWN_COIN.
    """
    path = Path(path)
    if _is_json(path):
        return load_user_fills_json(path, leader=leader, known_coins=known_coins)
    return load_hl_fills_csv(path, leader=leader, known_coins=known_coins)


def load_bars(
    path: Path | str, *, coin: str | None = None, interval_ms: int | None = None
) -> tuple[Bars, ImportReport]:
    """One coin's bars from an OHLCV CSV or a candleSnapshot JSON.

    `coin` overrides the coin found in the data or the file name; `interval_ms` overrides the
    interval declared by the data or inferred from its spacing.
    """
    path = Path(path)
    if _is_json(path):
        return load_candle_snapshot(path, coin=coin, interval_ms=interval_ms)
    return load_ohlcv_csv(path, coin=coin, interval_ms=interval_ms)


def _rejected(path: Path, exc: DataImportError) -> ImportReport:
    issue = ImportIssue(path, None, ImportReason.FILE_REJECTED, exc.problem)
    return ImportReport(path, 0, 0, (issue,), {})


def _with_note(report: ImportReport, reason: ImportReason, detail: str) -> ImportReport:
    note = ImportIssue(report.path, None, reason, detail, skipped=False)
    return replace(report, issues=(note, *report.issues))


def load_price_dir(directory: Path | str) -> tuple[dict[str, Bars], list[ImportReport]]:
    """Bars per coin from every CSV / JSON file directly in `directory` (not sub-folders).

    A file that cannot be read as bars (a README.json, a fills CSV) is not fatal: its report
    holds one FILE_REJECTED issue. Several series of one coin: the finest interval is kept
    (ties: more bars, then the first file name); the choice is noted in the kept file's report
    (SERIES_KEPT) and in each other's (SERIES_NOT_USED). Reports come in file-name order.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise DataImportError(folder, "not a directory")
    files = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in PRICE_FILE_SUFFIXES
    )
    if not files:
        raise DataImportError(folder, f"no price files ({', '.join(PRICE_FILE_SUFFIXES)})")
    reports: list[ImportReport] = []
    series: dict[str, list[tuple[int, Bars]]] = {}  # coin -> (report index, bars)
    for path in files:
        try:
            bars, report = load_bars(path)
        except DataImportError as exc:
            reports.append(_rejected(path, exc))
            continue
        series.setdefault(bars.coin, []).append((len(reports), bars))
        reports.append(report)
    chosen: dict[str, Bars] = {}
    for coin, candidates in series.items():
        ranked = sorted(candidates, key=lambda c: (c[1].interval_ms, -len(c[1])))  # stable
        kept_at, kept = ranked[0]
        chosen[coin] = kept
        if len(ranked) == 1:
            continue
        kept_name = reports[kept_at].path.name
        others = ", ".join(
            f"{format_interval(b.interval_ms)} ({reports[i].path.name})" for i, b in ranked[1:]
        )
        reports[kept_at] = _with_note(
            reports[kept_at],
            ImportReason.SERIES_KEPT,
            f"{coin}: this {format_interval(kept.interval_ms)} series kept over {others}",
        )
        for i, bars in ranked[1:]:
            reports[i] = _with_note(
                reports[i],
                ImportReason.SERIES_NOT_USED,
                f"{coin}: this {format_interval(bars.interval_ms)} series ({len(bars)} bars) not"
                f" used; kept {format_interval(kept.interval_ms)} from {kept_name}"
                f" ({len(kept)} bars)",
            )
    return chosen, reports
