"""Real history for the backtester (SPEC §B4): leader fills and price bars from files.

Bad data is reported with file and line (`ImportReport.issues`) and skipped, or the file is
rejected with a `DataImportError` — never turned into a silently wrong series. Formats and
rules: docs/import-formats.md.
"""

from tailgate.backtest.data.bars import Bars
from tailgate.backtest.data.detect import load_bars, load_fills, load_price_dir
from tailgate.backtest.data.hl_candles import read_candle_snapshot
from tailgate.backtest.data.hl_fills_json import read_user_fills
from tailgate.backtest.data.issues import (
    DataImportError,
    ImportIssue,
    ImportReason,
    ImportReport,
)

__all__ = [
    "Bars",
    "DataImportError",
    "ImportIssue",
    "ImportReason",
    "ImportReport",
    "load_bars",
    "load_fills",
    "load_price_dir",
    "read_candle_snapshot",
    "read_user_fills",
]
