"""Leader fills from the real files in the shared data folder (skipped when it is absent)."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tailgate.backtest.data import ImportReason, load_fills, read_user_fills
from tailgate.backtest.data.hl_fills_csv import parse_ist_minute
from tests.shared_data import read_cassette

pytestmark = pytest.mark.realdata

PRIMETRADE = "hl-trader-fills-primetrade/historical_data.csv"
USER_FILLS = "hl-python-sdk/tests/cassettes/info_test/test_get_user_fills.yaml"
LIQUIDATION_WS = (
    "nautilus-fixtures/crates/adapters/hyperliquid/test_data/ws_user_fill_liquidation.json"
)
SDK_WALLET = "0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2"
BIG_LEADER = "0x513b8629fe877bb581bf244e326a047b249c4ff1"
FILL_ID = re.compile(r"^\d+-[0-9a-f]{16}(-\d+)?$")


@pytest.fixture(scope="module")
def primetrade(real_file: Callable[[str], Path]) -> Path:
    return real_file(PRIMETRADE)


def test_primetrade_15629_rows_are_14530_perp_1098_spot_and_1_dust_conversion(
    primetrade: Path,
) -> None:
    fills, report = load_fills(primetrade)
    assert report.rows_read == 15_629
    assert report.rows_imported == len(fills) == 14_530
    assert report.skipped == {ImportReason.SPOT_FILL: 1_098, ImportReason.NON_TRADE: 1}
    assert Counter(f.direction for f in fills) == {
        "Open Long": 5_404,
        "Close Long": 4_366,
        "Open Short": 2_842,
        "Close Short": 1_914,
        "Long > Short": 2,
        "Short > Long": 2,
    }
    assert Counter(f.leader for f in fills) == {
        BIG_LEADER: 11_257,
        "0x72c6a4624e1dffa724e6d00d64ceae698af892a0": 1_413,
        "0x083384f897ee0f19899168e3b1bec365f52a9012": 1_400,
        "0xae5eacaf9c6b9111fd53034a602c192a04e082ed": 460,
    }
    coins = Counter(f.coin for f in fills)
    assert len(coins) == 28 and "@107" not in coins  # 29 coins in the file, one is spot
    assert (coins["BTC"], coins["SOL"], coins["ETH"]) == (9_173, 2_105, 868)
    assert not any(f.liquidation for f in fills)  # no liquidation direction in this file


def test_primetrade_only_issues_are_six_holes_in_the_position_history(primetrade: Path) -> None:
    """The export is missing fills at six places (five at 2,000-row page boundaries): the start
    position does not continue from the previous fill. Reported on the line, fill kept."""
    _, report = load_fills(primetrade)
    assert [i.reason_code for i in report.issues] == [ImportReason.POSITION_DISCONTINUITY] * 6
    assert report.lines(ImportReason.POSITION_DISCONTINUITY) == [
        3_995,
        5_995,
        8_030,
        9_995,
        11_995,
        13_995,
    ]
    assert not any(i.skipped for i in report.issues)
    first = report.issues[0]
    assert "21.15737" in first.detail and "17.64965" in first.detail and "3994" in first.detail


def test_ist_minute_is_converted_to_exact_utc_ms() -> None:
    # Line 2 of the export: 02-12-2024 22:50 IST is 17:20 UTC.
    assert parse_ist_minute("02-12-2024 22:50") == 1_733_160_000_000
    assert parse_ist_minute("02-12-2024 22:50") == int(
        datetime(2024, 12, 2, 17, 20, tzinfo=UTC).timestamp() * 1000
    )
    # One-digit hours occur ("04-12-2024 5:30", line 1,014): midnight UTC.
    assert parse_ist_minute("04-12-2024 5:30") == 1_733_270_400_000
    assert parse_ist_minute("31-02-2024 10:00") is None
    assert parse_ist_minute("2024-12-02 22:50") is None


def test_a_known_row_has_its_utc_minute_and_fills_of_one_minute_keep_file_order(
    primetrade: Path,
) -> None:
    """Lines 3,739-3,742: order 85369144282 closes a 7.8 BTC short and flips long."""
    fills, _ = load_fills(primetrade)
    order = [f for f in fills if f.order_id == 85_369_144_282]
    assert [f.start_position for f in order] == [-7.79714, -3.21114, -3.20111, -2.77036]
    assert [f.direction for f in order] == ["Close Short"] * 3 + ["Short > Long"]
    # 09-04-2025 23:02 IST = 17:32 UTC; the flip is a minute later.
    assert [f.time_ms for f in order] == [1_744_219_920_000] * 3 + [1_744_219_980_000]
    assert order[0].end_position == pytest.approx(order[1].start_position)
    assert (order[0].price, order[0].size, order[0].is_buy) == (81_403.0, 4.586, True)
    assert (order[0].closed_pnl, order[0].fee) == (-29_370.1198, 35.838158)
    assert order[0].tx_hash.startswith("0x6a6b2931")


def test_every_ist_time_agrees_with_the_mangled_three_digit_timestamp(primetrade: Path) -> None:
    """`Timestamp` kept three significant digits (1.73E+12): each converted IST minute must
    round to it, which pins the date and the unit (not the 5:30 offset, checked above)."""
    with primetrade.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        time_ms = parse_ist_minute(row["Timestamp IST"])
        assert time_ms is not None
        assert f"{time_ms:.2E}" == row["Timestamp"]


def test_fills_are_oldest_first_with_deterministic_unique_ids(primetrade: Path) -> None:
    fills, _ = load_fills(primetrade)
    again, _ = load_fills(primetrade)
    assert [f.fill_id for f in fills] == [f.fill_id for f in again]
    assert len({f.dedupe_key for f in fills}) == len(fills)
    assert all(FILL_ID.match(f.fill_id) for f in fills)
    assert all(f.fill_id.startswith(f"{f.order_id}-") for f in fills)
    times = [f.time_ms for f in fills]
    assert times == sorted(times)


def test_fill_ids_do_not_depend_on_line_numbers(primetrade: Path, tmp_path: Path) -> None:
    """A shorter export (the header and the big leader's rows only) gives the same ids."""
    lines = primetrade.read_text().splitlines()
    subset = tmp_path / "subset.csv"
    subset.write_text("\n".join([lines[0], *(ln for ln in lines[1:] if BIG_LEADER in ln)]))
    full, _ = load_fills(primetrade, leader=BIG_LEADER)
    part, report = load_fills(subset)
    assert report.rows_read == 12_236 and len(part) == 11_257
    assert [f.fill_id for f in part] == [f.fill_id for f in full]


def test_leader_argument_keeps_one_account(primetrade: Path) -> None:
    fills, report = load_fills(primetrade, leader="0x72C6A4624E1DFFA724E6D00D64CEAE698AF892A0")
    assert len(fills) == 1_413
    assert report.skipped[ImportReason.OTHER_LEADER] == 15_629 - 1_430
    assert report.skipped[ImportReason.SPOT_FILL] == 17
    assert {f.leader for f in fills} == {"0x72c6a4624e1dffa724e6d00d64ceae698af892a0"}


def test_known_coins_skip_the_rest_with_an_issue_per_line(primetrade: Path) -> None:
    fills, report = load_fills(primetrade, known_coins={"BTC", "ETH", "SOL"})
    assert len(fills) == 9_173 + 2_105 + 868
    assert report.skipped[ImportReason.UNKNOWN_COIN] == 14_530 - len(fills)
    unknown = [i for i in report.issues if i.reason_code is ImportReason.UNKNOWN_COIN]
    assert len(unknown) == 14_530 - len(fills)
    assert (unknown[0].line, unknown[0].detail) == (66, "coin='AAVE'")


def test_user_fills_json_file_named_by_the_wallet(
    real_file: Callable[[str], Path], tmp_path: Path
) -> None:
    (body,) = read_cassette(real_file(USER_FILLS))
    path = tmp_path / f"{SDK_WALLET}.json"
    path.write_text(json.dumps(body))
    fills, report = load_fills(path)
    assert report.rows_read == report.rows_imported == len(fills) == 500
    assert report.skipped == {}
    assert {f.leader for f in fills} == {SDK_WALLET}
    assert len({f.fill_id for f in fills}) == 500  # no `tid` in 2023: the parser derives one
    times = [f.time_ms for f in fills]
    assert times == sorted(times)
    # The window of 500 ends in the middle of a self-crossed pair: its partner is missing.
    assert [(i.line, i.reason_code) for i in report.issues] == [
        (498, ImportReason.POSITION_DISCONTINUITY)
    ]


def test_user_fills_match_the_venue_parser(real_file: Callable[[str], Path]) -> None:
    from tailgate.venues.hyperliquid.parse import parse_user_fills

    (body,) = read_cassette(real_file(USER_FILLS))
    fills, _ = read_user_fills(body, SDK_WALLET)
    assert fills == parse_user_fills(body, SDK_WALLET).fills


def test_liquidation_fill_keeps_the_venue_flag(real_file: Callable[[str], Path]) -> None:
    """Flagged for the wallet the venue liquidated, not for its counterparty."""
    message = json.loads(real_file(LIQUIDATION_WS).read_text())
    liquidated = message["data"]["fills"][0]["liquidation"]["liquidatedUser"]
    counterparty, _ = read_user_fills(message["data"]["fills"], SDK_WALLET)
    assert not counterparty[0].liquidation
    fills, report = read_user_fills(message["data"]["fills"], liquidated)
    assert report.rows_imported == 1 and fills[0].liquidation
    assert fills[0].fill_id == "745210434703679"
