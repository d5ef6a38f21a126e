"""Price bars from the real files in the shared data folder (skipped when it is absent)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tailgate.backtest.data import ImportReason, load_bars, load_price_dir
from tailgate.domain.models import MS_PER_HOUR, MS_PER_MINUTE

pytestmark = pytest.mark.realdata

BENICIO = "ohlcv-1m-btc-eth-sol-benicio"
COBRA = "ohlcv-5m-btc-eth-sol-cobra/data"
NAUTILUS_BARS = "nautilus-fixtures/tests/test_data/btc-perp-20211231-20220201_1m.csv"
SIMSIM = "hl-btc-15m-candles-simsim/data/BTC-PERP-15m.json"
XSA = "hl-btc-candles-xsa/btc_usdc_ohlcv_1h.csv"
JAN_1_2025 = 1_735_689_600_000


@pytest.mark.parametrize(
    ("relative", "coin", "interval_ms", "count"),
    [
        (f"{BENICIO}/2025-01/BTCUSDT_1m.csv", "BTC", MS_PER_MINUTE, 30_000),
        (f"{BENICIO}/2023-01/SOLUSDT_1m.csv", "SOL", MS_PER_MINUTE, 40_000),
        (f"{COBRA}/BTCUSDT_5m.csv", "BTC", 5 * MS_PER_MINUTE, 25_920),
        (f"{COBRA}/ETHUSDT_15m.csv", "ETH", 15 * MS_PER_MINUTE, 8_640),
        (f"{COBRA}/SOLUSDT_60m.csv", "SOL", MS_PER_HOUR, 720),
        (NAUTILUS_BARS, "BTC", MS_PER_MINUTE, 45_031),
        (XSA, "BTC", MS_PER_HOUR, 169),
    ],
)
def test_csv_interval_and_coin_are_inferred_and_the_series_is_clean(
    real_file: Callable[[str], Path], relative: str, coin: str, interval_ms: int, count: int
) -> None:
    bars, report = load_bars(real_file(relative))
    assert (bars.coin, bars.interval_ms, len(bars)) == (coin, interval_ms, count)
    assert report.rows_read == report.rows_imported == count
    assert report.issues == () and report.skipped == {}
    assert bars.gaps() == []
    assert bool(np.all(bars.low <= np.minimum(bars.open, bars.close)))


def test_benicio_2025_first_bar_opens_at_midnight_utc_and_is_known_a_minute_later(
    real_file: Callable[[str], Path],
) -> None:
    bars, _ = load_bars(real_file(f"{BENICIO}/2025-01/BTCUSDT_1m.csv"))
    assert bars.start_ms == JAN_1_2025  # "2025-01-01 00:00:00" without offset: UTC
    assert (bars.open[0], bars.high[0], bars.low[0], bars.close[0], bars.volume[0]) == (
        93_576.0,
        93_610.93,
        93_537.5,
        93_610.93,
        8.21827,
    )
    assert bars.at(JAN_1_2025 + 59_999) is None
    assert bars.at(JAN_1_2025 + MS_PER_MINUTE) == 0
    assert bars.end_ms == JAN_1_2025 + 30_000 * MS_PER_MINUTE


def test_offset_timestamps_and_nautilus_microsecond_text_parse_to_utc(
    real_file: Callable[[str], Path],
) -> None:
    cobra, _ = load_bars(real_file(f"{COBRA}/BTCUSDT_5m.csv"))
    assert cobra.start_ms == 1_743_699_900_000  # 2025-04-03 17:05:00+00:00
    nautilus, _ = load_bars(real_file(NAUTILUS_BARS))
    assert nautilus.start_ms == 1_640_991_660_000  # 2021-12-31 23:01:00.000000


def test_candle_snapshot_drops_the_stray_last_row_by_its_symbol(
    real_file: Callable[[str], Path],
) -> None:
    """5,002 candles: the last one is "BTC-PERP" (the logger's label, one trade, o=h=l=c)
    among 5,001 "BTC"; its time is on the grid, so only its symbol gives it away."""
    bars, report = load_bars(real_file(SIMSIM))
    assert (bars.coin, bars.interval_ms, len(bars)) == ("BTC", 15 * MS_PER_MINUTE, 5_001)
    assert report.rows_read == 5_002 and report.skipped == {ImportReason.STRAY_ROW: 1}
    (issue,) = report.issues
    assert (issue.line, issue.reason_code) == (5_001, ImportReason.STRAY_ROW)
    assert "'BTC-PERP'" in issue.detail
    assert bars.gaps() == []
    assert int(bars.time_ms[-1]) == 1_737_783_900_000 and bars.close[-1] == 104_540.0
    assert bars.start_ms == 1_733_283_900_000  # 2024-12-04T03:45Z


def test_price_dir_keeps_the_finest_interval_per_coin_and_says_so(
    real_file: Callable[[str], Path],
) -> None:
    bars, reports = load_price_dir(real_file(COBRA))
    assert {coin: (b.interval_ms, len(b)) for coin, b in bars.items()} == {
        "BTC": (5 * MS_PER_MINUTE, 25_920),
        "ETH": (5 * MS_PER_MINUTE, 25_920),
        "SOL": (5 * MS_PER_MINUTE, 25_920),
    }
    assert len(reports) == 9
    by_name = {r.path.name: r for r in reports}
    kept = by_name["BTCUSDT_5m.csv"].issues[0]
    assert kept.reason_code is ImportReason.SERIES_KEPT and kept.line is None
    assert "15m (BTCUSDT_15m.csv), 1h (BTCUSDT_60m.csv)" in kept.detail
    for name in ("BTCUSDT_15m.csv", "BTCUSDT_60m.csv"):
        (note,) = by_name[name].issues
        assert note.reason_code is ImportReason.SERIES_NOT_USED and not note.skipped
        assert "kept 5m from BTCUSDT_5m.csv" in note.detail


def test_price_dir_of_a_folder_with_other_files_reports_them(
    real_file: Callable[[str], Path],
) -> None:
    """A folder without bars (a fills export, a daily sentiment index): each file is
    FILE_REJECTED in its report, with the reason; nothing raises."""
    bars, reports = load_price_dir(real_file("hl-trader-fills-primetrade"))
    assert bars == {}
    assert [(r.path.name, r.issues[0].reason_code) for r in reports] == [
        ("fear_greed_index.csv", ImportReason.FILE_REJECTED),
        ("historical_data.csv", ImportReason.FILE_REJECTED),
    ]
    assert "missing open, high, low, close" in reports[1].issues[0].detail
