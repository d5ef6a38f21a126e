"""Bad fills data, in small synthetic files: every case is skipped or noted with its line and
reason code, or the file is rejected with a `DataImportError` naming what is wrong."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tailgate.backtest.data import DataImportError, ImportReason, ImportReport, load_fills

Write = Callable[[str, str], Path]

HEADER = (
    "Account,Coin,Execution Price,Size Tokens,Size USD,Side,Timestamp IST,Start Position,"
    "Direction,Closed PnL,Transaction Hash,Order ID,Crossed,Fee,Trade ID,Timestamp"
)
LEADER = "0x00000000000000000000000000000000000000aa"
T_0530_IST = 1_735_689_600_000  # 01-01-2025 05:30 IST = 2025-01-01T00:00Z


def row(**changes: str) -> str:
    cells = {
        "account": LEADER,
        "coin": "BTC",
        "px": "100",
        "sz": "2",
        "usd": "",
        "side": "BUY",
        "ist": "01-01-2025 05:30",
        "start": "0",
        "dir": "Open Long",
        "pnl": "0",
        "hash": "0xab",
        "oid": "7",
        "crossed": "TRUE",
        "fee": "0.1",
        "tid": "1.00E+15",
        "ts": "1.74E+12",
    }
    cells.update(changes)
    if not cells["usd"]:
        try:
            cells["usd"] = f"{float(cells['px']) * float(cells['sz']):.2f}"
        except ValueError:
            cells["usd"] = "0"
    return ",".join(cells.values())


def fills_csv(write: Write, *rows: str) -> Path:
    return write("fills.csv", "\n".join([HEADER, *rows]) + "\n")


def only_issue(report: ImportReport) -> tuple[int | None, ImportReason, bool]:
    assert len(report.issues) == 1, [str(i) for i in report.issues]
    issue = report.issues[0]
    return issue.line, issue.reason_code, issue.skipped


def assert_balanced(report: ImportReport) -> None:
    assert report.rows_read == report.rows_imported + sum(report.skipped.values())


# --- rows skipped with an issue -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad_row", "reason", "in_detail"),
    [
        (row(px="abc"), ImportReason.MALFORMED_ROW, "Execution Price='abc'"),
        (row(px="nan", usd="1"), ImportReason.INVALID_PRICE, "price=nan"),
        (row(px="-5", usd="-10"), ImportReason.INVALID_PRICE, "price=-5.0"),
        (row(sz="0"), ImportReason.INVALID_SIZE, "size=0.0"),
        (row(ist="2025-01-01 05:30"), ImportReason.INVALID_TIME, "Timestamp IST"),
        (row(ist="32-01-2025 05:30"), ImportReason.INVALID_TIME, "32-01-2025"),
        (row(oid="5.20E+10"), ImportReason.MALFORMED_ROW, "Order ID"),
        (row(side="HOLD"), ImportReason.MALFORMED_ROW, "Side"),
        (row() + ",extra", ImportReason.MALFORMED_ROW, "17 columns, the header has 16"),
        (row(side="SELL"), ImportReason.INCONSISTENT_FILL, "cannot be a sell"),
        (row(dir="Close Long", side="SELL", start="-1"), ImportReason.INCONSISTENT_FILL, "-1.0"),
        (row(dir="Open Long", start="-1"), ImportReason.INCONSISTENT_FILL, "start position"),
        (row(usd="999"), ImportReason.INCONSISTENT_FILL, "Size USD 999"),
        (row(coin="@107"), ImportReason.INCONSISTENT_FILL, "spot coin"),
        (row(dir="Teleport"), ImportReason.UNKNOWN_DIRECTION, "Teleport"),
        (row(account=""), ImportReason.MALFORMED_ROW, "Account"),
    ],
)
def test_bad_row_is_skipped_with_its_line_and_reason(
    write: Write, bad_row: str, reason: ImportReason, in_detail: str
) -> None:
    path = fills_csv(write, row(coin="ETH"), bad_row, row(coin="SOL"))
    fills, report = load_fills(path)
    assert [f.coin for f in fills] == ["ETH", "SOL"]
    assert only_issue(report) == (3, reason, True)
    assert in_detail in report.issues[0].detail
    assert report.skipped == {reason: 1}
    assert_balanced(report)
    assert str(report.issues[0]).startswith(f"{path}:3: {reason.value} (skipped): ")


def test_unknown_coin_is_skipped_when_known_coins_are_given(write: Write) -> None:
    path = fills_csv(write, row(coin="ETH"), row(coin="FARTCOIN"), row(coin="SOL"))
    fills, report = load_fills(path, known_coins={"BTC", "ETH", "SOL"})
    assert [f.coin for f in fills] == ["ETH", "SOL"]
    assert only_issue(report) == (3, ImportReason.UNKNOWN_COIN, True)
    assert report.issues[0].detail == "coin='FARTCOIN'"
    fills, report = load_fills(path)  # without known_coins every coin is accepted
    assert len(fills) == 3 and report.issues == ()


def test_a_repeated_row_is_a_duplicate_fill(write: Write) -> None:
    path = fills_csv(write, row(), row(coin="ETH"), row())
    fills, report = load_fills(path)
    assert [f.coin for f in fills] == ["BTC", "ETH"]
    assert only_issue(report) == (4, ImportReason.DUPLICATE_FILL, True)
    assert report.issues[0].detail == "same row as line 2"


def test_rows_differing_only_in_the_mangled_trade_id_are_two_fills(write: Write) -> None:
    """Same content, different (mangled) Trade ID: the exchange told them apart, so do we —
    the second gets the occurrence suffix "-1"."""
    path = fills_csv(write, row(tid="1.00E+15"), row(tid="8.80E+14"))
    (first, second), report = load_fills(path)
    assert second.fill_id == first.fill_id + "-1"
    # Both claim to start from 0: the position history says a fill is missing in between.
    assert only_issue(report) == (3, ImportReason.POSITION_DISCONTINUITY, False)


def test_identical_content_in_another_file_gets_the_same_id(write: Write) -> None:
    a = write("a.csv", "\n".join([HEADER, row(coin="ETH"), row()]))
    b = write("b.csv", "\n".join([HEADER, row()]))
    assert load_fills(a)[0][1].fill_id == load_fills(b)[0][0].fill_id


# --- rows kept with a note, and rows skipped by design ------------------------------------------


def test_unsorted_rows_are_sorted_with_a_note_per_out_of_order_line(write: Write) -> None:
    path = fills_csv(
        write,
        row(coin="BTC", ist="01-01-2025 10:00"),
        row(coin="ETH", ist="01-01-2025 10:05"),
        row(coin="SOL", ist="01-01-2025 10:01"),
        row(coin="XRP", ist="01-01-2025 10:06"),
    )
    fills, report = load_fills(path)
    assert [f.coin for f in fills] == ["BTC", "SOL", "ETH", "XRP"]
    assert only_issue(report) == (4, ImportReason.UNSORTED_ROW, False)
    assert report.skipped == {}


def test_a_hole_in_the_position_history_is_noted_and_the_fill_kept(write: Write) -> None:
    path = fills_csv(
        write,
        row(start="0"),  # 0 → 2
        row(start="2", ist="01-01-2025 05:31"),  # 2 → 4
        row(start="9", ist="01-01-2025 05:32"),  # fills missing: 4 ≠ 9
    )
    fills, report = load_fills(path)
    assert len(fills) == 3
    assert only_issue(report) == (4, ImportReason.POSITION_DISCONTINUITY, False)
    assert "line 3" in report.issues[0].detail


def test_a_self_crossed_pair_leaves_the_position_unchanged(write: Write) -> None:
    path = fills_csv(
        write,
        row(start="0"),  # 0 → 2
        row(start="2", hash="0xcc", oid="8"),  # buy 2 from 2 …
        row(start="2", hash="0xcc", oid="9", side="SELL", dir="Close Long"),  # … sell 2 from 2
        row(start="2", ist="01-01-2025 05:31"),  # continues from 2
    )
    fills, report = load_fills(path)
    assert len(fills) == 4 and report.issues == ()


def test_spot_and_housekeeping_rows_are_counted_not_reported(write: Write) -> None:
    path = fills_csv(
        write,
        row(coin="@107", dir="Buy"),
        row(coin="@107", dir="Sell", side="SELL"),
        row(coin="@107", dir="Spot Dust Conversion", side="SELL", hash="0x" + "0" * 64),
        row(),
    )
    fills, report = load_fills(path)
    assert len(fills) == 1 and report.issues == ()
    assert report.skipped == {ImportReason.SPOT_FILL: 2, ImportReason.NON_TRADE: 1}
    assert_balanced(report)


def test_liquidation_directions_set_the_flag_and_adl_does_not(write: Write) -> None:
    path = fills_csv(
        write,
        row(coin="ETH", dir="Liquidated Isolated Short", side="BUY", start="-2"),
        row(coin="SOL", dir="Liquidated Cross Long", side="SELL", start="2"),
        row(coin="XRP", dir="Auto-Deleveraging", side="SELL", start="3"),
        row(coin="DOGE", dir="Settlement", side="BUY", start="-2"),
    )
    fills, report = load_fills(path)
    assert report.issues == ()
    assert [(f.coin, f.liquidation) for f in fills] == [
        ("ETH", True),
        ("SOL", True),
        ("XRP", False),
        ("DOGE", False),
    ]


def test_adl_must_reduce_the_open_position(write: Write) -> None:
    path = fills_csv(write, row(dir="Auto-Deleveraging", side="BUY", start="3"))
    _, report = load_fills(path)
    assert only_issue(report) == (2, ImportReason.INCONSISTENT_FILL, True)


def test_time_is_the_start_of_the_ist_minute_in_utc_and_the_report_says_so(write: Write) -> None:
    (fill,), report = load_fills(fills_csv(write, row(ist="01-01-2025 5:30")))
    assert fill.time_ms == T_0530_IST
    assert report.time_resolution_ms == 60_000  # the fill happened within the next minute
    _, json_report = load_fills(fills_json(write, user_fill()))
    assert json_report.time_resolution_ms == 1


def test_blank_lines_are_ignored_and_line_numbers_stay_exact(write: Write) -> None:
    path = write("fills.csv", "\n".join([HEADER, row(coin="ETH"), "", "", row(px="x")]) + "\n\n")
    fills, report = load_fills(path)
    assert len(fills) == 1 and report.rows_read == 2
    assert only_issue(report) == (5, ImportReason.MALFORMED_ROW, True)


# --- whole files rejected ---------------------------------------------------------------------


def test_empty_file_is_rejected_naming_it(write: Write) -> None:
    path = write("empty.csv", "")
    with pytest.raises(DataImportError, match=r"empty\.csv: empty file"):
        load_fills(path)


def test_missing_required_columns_are_named(write: Write) -> None:
    path = write("fills.csv", HEADER.replace("Order ID,", "").replace(",Side", "") + "\n")
    with pytest.raises(DataImportError, match=r"missing column.*side, order id") as caught:
        load_fills(path)
    assert caught.value.path == path


def test_a_header_without_rows_is_an_empty_import(write: Write) -> None:
    fills, report = load_fills(write("fills.csv", HEADER + "\n"))
    assert fills == [] and report.rows_read == 0 and report.issues == ()


def test_a_bars_file_is_not_a_fills_file(write: Write) -> None:
    path = write("BTCUSDT_1m.csv", "timestamp,open,high,low,close,volume\n")
    with pytest.raises(DataImportError, match="not a Hyperliquid fills CSV"):
        load_fills(path)


# --- userFills JSON ---------------------------------------------------------------------------


def user_fill(**changes: Any) -> dict[str, Any]:
    fill: dict[str, Any] = {
        "coin": "BTC",
        "px": "100.0",
        "sz": "2",
        "side": "B",
        "time": T_0530_IST,
        "startPosition": "0",
        "dir": "Open Long",
        "closedPnl": "0.0",
        "hash": "0xab",
        "oid": 7,
        "crossed": True,
        "fee": "0.1",
        "tid": 1,
    }
    fill.update(changes)
    return fill


def fills_json(write: Write, *fills: object, name: str = f"{LEADER}.json") -> Path:
    return write(name, json.dumps(list(fills)))


@pytest.mark.parametrize(
    ("bad", "reason", "in_detail"),
    [
        ({"coin": "BTC"}, ImportReason.MALFORMED_ROW, "missing field"),
        (user_fill(px="NaN", tid=9), ImportReason.INVALID_PRICE, "price=nan"),
        (user_fill(sz="-1", tid=9), ImportReason.INVALID_SIZE, "size=-1.0"),
        (user_fill(side="X", tid=9), ImportReason.MALFORMED_ROW, "fill.side"),
        (user_fill(dir="Open Short", tid=9), ImportReason.INCONSISTENT_FILL, "cannot be a buy"),
        (user_fill(dir="Moon", tid=9), ImportReason.UNKNOWN_DIRECTION, "Moon"),
        (user_fill(tid=1), ImportReason.DUPLICATE_FILL, "fill id 1 already at [0]"),
        ("not a fill", ImportReason.MALFORMED_ROW, "expected an object"),
    ],
)
def test_bad_json_element_is_skipped_with_its_index(
    write: Write, bad: object, reason: ImportReason, in_detail: str
) -> None:
    path = fills_json(write, user_fill(), bad, user_fill(coin="ETH", tid=2))
    fills, report = load_fills(path)
    assert [f.coin for f in fills] == ["BTC", "ETH"]
    assert only_issue(report) == (1, reason, True)
    assert in_detail in report.issues[0].detail
    assert str(report.issues[0]).startswith(f"{path}[1]: {reason.value}")
    assert_balanced(report)


def test_json_unknown_coin_spot_and_liquidation(write: Write) -> None:
    path = fills_json(
        write,
        user_fill(coin="@107", dir="Buy", tid=3),
        user_fill(coin="PURR/USDC", dir="Sell", side="A", tid=4),
        user_fill(coin="DOGE", tid=5),
        user_fill(coin="ETH", dir="Liquidated Cross Long", side="A", startPosition="3", tid=6),
    )
    fills, report = load_fills(path, known_coins={"BTC", "ETH"})
    assert [(f.coin, f.liquidation) for f in fills] == [("ETH", True)]
    assert report.skipped == {ImportReason.SPOT_FILL: 2, ImportReason.UNKNOWN_COIN: 1}
    assert only_issue(report) == (2, ImportReason.UNKNOWN_COIN, True)


def test_json_fills_come_out_oldest_first_and_the_leader_from_the_argument(write: Write) -> None:
    path = fills_json(
        write,
        user_fill(time=T_0530_IST + 2, tid=3, coin="SOL"),
        user_fill(time=T_0530_IST + 1, tid=2, coin="ETH"),
        user_fill(time=T_0530_IST, tid=1),
        name="fills.json",
    )
    fills, report = load_fills(path, leader="0xABC")
    assert [f.coin for f in fills] == ["BTC", "ETH", "SOL"]
    assert {f.leader for f in fills} == {"0xabc"} and report.issues == ()


def test_json_without_a_leader_is_rejected(write: Write) -> None:
    path = fills_json(write, user_fill(), name="fills.json")
    with pytest.raises(DataImportError, match="pass leader="):
        load_fills(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty file"),
        ('[{"coin": "BTC",', "not JSON: .* at line 1 column"),
        ('{"fills": []}', "expected a JSON list of fills, got dict"),
    ],
)
def test_json_file_that_is_not_a_fills_list_is_rejected(
    write: Write, text: str, message: str
) -> None:
    with pytest.raises(DataImportError, match=message):
        load_fills(write(f"{LEADER}.json", text))
