"""Bad price data, in small synthetic files: every case is skipped or noted with its line (or
JSON element) and reason code, or the file is rejected with a `DataImportError`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tailgate.backtest.data import (
    DataImportError,
    ImportReason,
    ImportReport,
    load_bars,
    load_price_dir,
)
from tailgate.domain.models import MS_PER_HOUR, MS_PER_MINUTE

Write = Callable[[str, str], Path]

HEADER = "timestamp,open,high,low,close,volume"
T0 = 1_735_689_600_000  # 2025-01-01T00:00Z
M5 = 5 * MS_PER_MINUTE


def bar(minute: int, price: float = 100.0, **changes: str) -> str:
    cells = {
        "time": f"2025-01-01 {minute // 60:02d}:{minute % 60:02d}:00",
        "open": f"{price}",
        "high": f"{price + 1}",
        "low": f"{price - 1}",
        "close": f"{price}",
        "volume": "1.5",
    }
    cells.update(changes)
    return ",".join(cells.values())


def bars_csv(write: Write, *rows: str, name: str = "BTCUSDT_5m.csv", header: str = HEADER) -> Path:
    return write(name, "\n".join([header, *rows]) + "\n")


def issues(report: ImportReport) -> list[tuple[int | None, ImportReason, bool]]:
    return [(i.line, i.reason_code, i.skipped) for i in report.issues]


def assert_balanced(report: ImportReport) -> None:
    assert report.rows_read == report.rows_imported + sum(report.skipped.values())


# --- unparseable lines ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad_row", "reason", "in_detail"),
    [
        (bar(10) + ",7", ImportReason.MALFORMED_ROW, "7 columns, the header has 6"),
        (bar(10, high="x"), ImportReason.MALFORMED_ROW, "high='x' is not a number"),
        (bar(10, close="nan"), ImportReason.INVALID_PRICE, "close=nan"),
        (bar(10, low="-1"), ImportReason.INVALID_PRICE, "low=-1.0"),
        (bar(10, open="0"), ImportReason.INVALID_PRICE, "open=0.0"),
        (bar(10, high="98", low="99"), ImportReason.INCONSISTENT_BAR, "high 98.0 < low 99.0"),
        (bar(10, close="102"), ImportReason.INCONSISTENT_BAR, "close 102.0 outside"),
        (bar(10, open="98"), ImportReason.INCONSISTENT_BAR, "open 98.0 outside"),
        (bar(10, volume="-3"), ImportReason.INVALID_VOLUME, "volume=-3.0"),
        (bar(10, volume="nan"), ImportReason.INVALID_VOLUME, "volume=nan"),
        (bar(10, time="yesterday"), ImportReason.INVALID_TIME, "timestamp='yesterday'"),
        (bar(10, time="12345"), ImportReason.INVALID_TIME, "'12345'"),  # 1970: a unit mistake
        (bar(12), ImportReason.OFF_GRID_BAR, "00:12:00Z is off the 5m grid"),
    ],
)
def test_bad_line_is_skipped_with_its_line_and_reason(
    write: Write, bad_row: str, reason: ImportReason, in_detail: str
) -> None:
    path = bars_csv(write, bar(0), bar(5), bar(10), bad_row, bar(15))
    bars, report = load_bars(path)
    assert bars.time_ms.tolist() == [T0, T0 + M5, T0 + 2 * M5, T0 + 3 * M5]
    assert issues(report) == [(5, reason, True)]
    assert in_detail in report.issues[0].detail
    assert report.skipped == {reason: 1}
    assert_balanced(report)


# --- order, duplicates, gaps ------------------------------------------------------------------


def test_unsorted_lines_are_sorted_with_a_note_per_out_of_order_line(write: Write) -> None:
    path = bars_csv(write, bar(0), bar(10, 102), bar(5, 101), bar(15, 103), bar(20, 104))
    bars, report = load_bars(path)
    assert bars.close.tolist() == [100.0, 101.0, 102.0, 103.0, 104.0]
    assert issues(report) == [(4, ImportReason.UNSORTED_ROW, False)]
    assert "00:05:00Z is before 2025-01-01T00:10:00Z" in report.issues[0].detail
    assert report.rows_imported == 5


def test_a_newest_first_file_is_one_series_with_every_later_line_noted(write: Write) -> None:
    bars, report = load_bars(bars_csv(write, bar(10, 102), bar(5, 101), bar(0)))
    assert bars.close.tolist() == [100.0, 101.0, 102.0]
    assert report.lines(ImportReason.UNSORTED_ROW) == [3, 4]


def test_an_identical_duplicate_bar_keeps_the_first(write: Write) -> None:
    path = bars_csv(write, bar(0), bar(5), bar(5, volume="9"), bar(5), bar(10))
    bars, report = load_bars(path)
    assert len(bars) == 3 and bars.volume[1] == 1.5
    assert issues(report) == [
        (4, ImportReason.DUPLICATE_BAR, True),
        (5, ImportReason.DUPLICATE_BAR, True),
    ]
    assert report.issues[0].detail.endswith("first kept; volume 9.0 ≠ 1.5")
    assert "same bar as line 3" in report.issues[1].detail


def test_conflicting_duplicates_are_all_dropped_and_leave_a_reported_gap(write: Write) -> None:
    path = bars_csv(write, bar(0), bar(5, 101), bar(10), bar(5, 105), bar(15))
    bars, report = load_bars(path)
    assert bars.time_ms.tolist() == [T0, T0 + 2 * M5, T0 + 3 * M5]
    assert issues(report) == [
        (3, ImportReason.CONFLICTING_BARS, True),
        (4, ImportReason.MISSING_BARS, False),  # the bar after the hole
        (5, ImportReason.UNSORTED_ROW, False),
        (5, ImportReason.CONFLICTING_BARS, True),
    ]
    assert "lines 3, 5 give different prices" in report.issues[0].detail
    assert report.skipped == {ImportReason.CONFLICTING_BARS: 2}


def test_a_gap_is_reported_with_its_length_and_not_filled(write: Write) -> None:
    bars, report = load_bars(bars_csv(write, bar(0), bar(5), bar(20), bar(25)))
    assert len(bars) == 4 and bars.gaps() == [(2, 2)]
    assert issues(report) == [(4, ImportReason.MISSING_BARS, False)]
    assert report.issues[0].detail == (
        "2 bar(s) of 5m missing between 2025-01-01T00:05:00Z and 2025-01-01T00:20:00Z"
    )
    assert bars.at(T0 + 4 * M5) == 1  # during the gap the last known bar is the one before it


def test_a_bar_whose_close_time_says_another_length_is_a_stray(write: Write) -> None:
    header = "time_open,time_close,open,high,low,close,volume"
    rows = [
        f"{T0 + i * MS_PER_HOUR},{T0 + (i + 1) * MS_PER_HOUR - 1},100,101,99,100,1"
        for i in range(4)
    ]
    rows[2] = f"{T0 + 2 * MS_PER_HOUR},{T0 + 2 * MS_PER_HOUR + 59_999},100,101,99,100,1"
    bars, report = load_bars(bars_csv(write, *rows, name="btc_1h.csv", header=header))
    assert bars.interval_ms == MS_PER_HOUR and len(bars) == 3
    assert issues(report) == [
        (4, ImportReason.STRAY_ROW, True),
        (5, ImportReason.MISSING_BARS, False),
    ]
    assert "bar length 60000 ms" in report.issues[0].detail


# --- times, names, intervals ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "stamps"),
    [
        ("open_time", [str(T0), str(T0 + M5), str(T0 + 2 * M5)]),  # epoch ms
        ("date", [str(T0 // 1000), str((T0 + M5) // 1000), str((T0 + 2 * M5) // 1000)]),  # s
        ("Datetime", ["2025-01-01T00:00:00Z", "2025-01-01T00:05:00Z", "2025-01-01T00:10:00Z"]),
        ("t", ["2025-01-01 05:30:00+05:30", "2025-01-01 05:35:00+05:30", "2025-01-01 05:40+05:30"]),
        ("time", ["2025-01-01 00:00:00.000000", "2025-01-01 00:05", "2025-01-01 00:10:00"]),
    ],
)
def test_time_columns_and_formats_all_read_as_utc_open_times(
    write: Write, header: str, stamps: list[str]
) -> None:
    rows = [f"{s},100,101,99,100,1" for s in stamps]
    path = bars_csv(write, *rows, header=f"{header},Open,High,Low,Close,Volume")
    bars, report = load_bars(path)
    assert bars.time_ms.tolist() == [T0, T0 + M5, T0 + 2 * M5]
    assert report.issues == ()


def test_coin_argument_overrides_the_file_name(write: Write) -> None:
    path = bars_csv(write, bar(0), bar(5), name="prices.csv")
    with pytest.raises(DataImportError, match="cannot tell the coin"):
        load_bars(path)
    bars, _ = load_bars(path, coin="ETH")
    assert bars.coin == "ETH"


def test_a_file_name_interval_that_disagrees_with_the_data_is_noted(write: Write) -> None:
    bars, report = load_bars(bars_csv(write, bar(0), bar(5), name="BTCUSDT_1m.csv"))
    assert bars.interval_ms == M5
    assert issues(report) == [(None, ImportReason.INTERVAL_MISMATCH, False)]
    assert report.issues[0].detail == "using interval 5m; the file name says 1m"


def test_one_bar_needs_an_explicit_interval(write: Write) -> None:
    path = bars_csv(write, bar(0), name="BTC.csv")
    with pytest.raises(DataImportError, match="cannot infer the bar interval"):
        load_bars(path)
    bars, _ = load_bars(path, interval_ms=M5)
    assert bars.at(T0 + M5) == 0


def test_volume_is_optional_and_nan_without_a_column(write: Write) -> None:
    path = bars_csv(
        write, "2025-01-01 00:00,1,1,1,1", "2025-01-01 00:05,1,1,1,1", header="date,o,h,l,c"
    )
    bars, _ = load_bars(path)
    assert bars.volume.tolist() == pytest.approx([float("nan")] * 2, nan_ok=True)


# --- whole files rejected ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ("\n\n", "empty file"),
        ("timestamp,open,high,close\n", "missing low"),
        ("when,open,high,low,close\n", "missing a time column"),
        (HEADER + "\n", "no valid bars"),
        (HEADER + "\n" + bar(0, close="x") + "\n", r"no valid bars \(first issues: .*:2: "),
    ],
)
def test_unusable_csv_is_rejected_naming_the_file(write: Write, text: str, message: str) -> None:
    path = write("BTCUSDT_5m.csv", text)
    with pytest.raises(DataImportError, match=message) as caught:
        load_bars(path)
    assert str(caught.value).startswith(str(path))


def test_monthly_bars_are_not_a_fixed_interval_series(write: Write) -> None:
    months = ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01", "2024-05-01", "2024-06-01"]
    path = bars_csv(write, *(f"{m},1,1,1,1,1" for m in months), name="BTC_monthly.csv")
    with pytest.raises(DataImportError, match="not a fixed-interval series"):
        load_bars(path)


# --- candleSnapshot JSON ----------------------------------------------------------------------


def candle(index: int, **changes: Any) -> dict[str, Any]:
    t = T0 + index * 15 * MS_PER_MINUTE
    item: dict[str, Any] = {
        "t": t,
        "T": t + 15 * MS_PER_MINUTE - 1,
        "s": "ETH",
        "i": "15m",
        "o": "100.0",
        "c": "100.5",
        "h": "101.0",
        "l": "99.0",
        "v": "3.2",
        "n": 12,
    }
    item.update(changes)
    return item


def candles_json(write: Write, *items: object) -> Path:
    return write("candles.json", json.dumps(list(items)))


@pytest.mark.parametrize(
    ("bad", "reason", "in_detail"),
    [
        (candle(2, s="ETH-PERP"), ImportReason.STRAY_ROW, "symbol 'ETH-PERP' ≠ 'ETH'"),
        (candle(2, i="1m"), ImportReason.STRAY_ROW, "interval '1m' ≠ '15m'"),
        (candle(2, T=T0 + 2 * 900_000 + 59_999), ImportReason.STRAY_ROW, "bar length 60000"),
        (candle(2, t=T0 + 2 * 900_000 + 60_000), ImportReason.STRAY_ROW, "bar length"),
        ({"t": T0}, ImportReason.MALFORMED_ROW, "missing field(s) T, o, h, l, c"),
        (candle(2, o=True), ImportReason.MALFORMED_ROW, "o: expected a number, got bool"),
        (candle(2, t="soon"), ImportReason.MALFORMED_ROW, "t='soon'"),
        (candle(2, h="99.5"), ImportReason.INCONSISTENT_BAR, "outside"),
        (candle(2, l="NaN"), ImportReason.INVALID_PRICE, "low=nan"),
        ([1, 2], ImportReason.MALFORMED_ROW, "expected an object"),
    ],
)
def test_bad_candle_is_skipped_with_its_element_index(
    write: Write, bad: object, reason: ImportReason, in_detail: str
) -> None:
    path = candles_json(write, candle(0), candle(1), bad, candle(3), candle(4))
    bars, report = load_bars(path)
    assert (bars.coin, bars.interval_ms) == ("ETH", 15 * MS_PER_MINUTE)
    assert report.skipped == {reason: 1}
    skipped = [(i.line, i.reason_code) for i in report.issues if i.skipped]
    assert skipped == [(2, reason)]
    assert in_detail in report.issues[0].detail
    assert issues(report)[-1] == (3, ImportReason.MISSING_BARS, False)  # the hole it leaves
    assert_balanced(report)


def test_candles_with_a_stray_last_row_lose_only_that_row(write: Write) -> None:
    path = candles_json(write, *(candle(i) for i in range(4)), candle(4, s="ETH-PERP", n=2))
    bars, report = load_bars(path)
    assert len(bars) == 4 and issues(report) == [(4, ImportReason.STRAY_ROW, True)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "no candles"),
        ('{"t": 1}', "expected a JSON list of candles, got dict"),
        ("[{", "not JSON"),
    ],
)
def test_unusable_candle_file_is_rejected(write: Write, text: str, message: str) -> None:
    with pytest.raises(DataImportError, match=message):
        load_bars(write("candles.json", text))


# --- folders ----------------------------------------------------------------------------------


def test_price_dir_keeps_the_longer_of_two_same_interval_series_and_reports_bad_files(
    write: Write, tmp_path: Path
) -> None:
    bars_csv(write, bar(0), bar(5), name="BTC_a_5m.csv")
    bars_csv(write, bar(0), bar(5), bar(10), name="BTC_b_5m.csv")
    candles_json(write, candle(0), candle(1))
    write("notes.json", "{")
    write("README.md", "not a price file")
    bars, reports = load_price_dir(tmp_path)
    assert {c: len(b) for c, b in bars.items()} == {"BTC": 3, "ETH": 2}
    names = [r.path.name for r in reports]
    assert names == ["BTC_a_5m.csv", "BTC_b_5m.csv", "candles.json", "notes.json"]
    assert issues(reports[0]) == [(None, ImportReason.SERIES_NOT_USED, False)]
    assert issues(reports[1]) == [(None, ImportReason.SERIES_KEPT, False)]
    assert issues(reports[3]) == [(None, ImportReason.FILE_REJECTED, True)]
    assert "not JSON" in reports[3].issues[0].detail


def test_price_dir_needs_a_folder_with_price_files(write: Write, tmp_path: Path) -> None:
    with pytest.raises(DataImportError, match="not a directory"):
        load_price_dir(tmp_path / "missing")
    with pytest.raises(DataImportError, match="no price files"):
        load_price_dir(tmp_path)
