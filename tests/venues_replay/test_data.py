"""`ReplayData.load` on small files: coins are the coins with bars, other fills stay."""

from __future__ import annotations

from pathlib import Path

import pytest

from tailgate.venues.replay import ReplayData

FILLS_HEADER = (
    "Account,Coin,Execution Price,Size Tokens,Size USD,Side,Timestamp IST,Start Position,"
    "Direction,Closed PnL,Transaction Hash,Order ID,Crossed,Fee,Trade ID,Timestamp\n"
)
T0 = 1_735_689_600_000  # 2025-01-01T00:00Z = 01-01-2025 05:30 IST


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    fills = write(
        tmp_path / "fills.csv",
        FILLS_HEADER
        + "0xa,BTC,93600,0.1,9360,BUY,01-01-2025 05:32,0,Open Long,0,0x1,11,TRUE,3,1,1\n"
        + "0xb,DOGE,0.3,1000,300,SELL,01-01-2025 05:31,0,Open Short,0,0x2,12,TRUE,0.1,1,1\n",
    )
    prices = tmp_path / "prices"
    prices.mkdir()
    rows = "".join(f"2025-01-01 00:0{i}:00,93600,93700,93500,936{i}0,1\n" for i in range(5))
    write(prices / "BTCUSDT_1m.csv", "timestamp,open,high,low,close,volume\n" + rows)
    return fills, prices


def test_load_keeps_fills_of_coins_without_bars_and_waits_a_minute(files):
    data, reports = ReplayData.load(*files)
    assert data.coins == ("BTC",)
    assert [(f.leader, f.coin) for f in data.fills] == [("0xb", "DOGE"), ("0xa", "BTC")]
    assert data.leaders == ("0xa", "0xb")
    assert data.fill_delay_ms == 60_000  # minute-stamped export
    assert data.span_ms() == (T0, T0 + 5 * 60_000)
    assert [r.path.name for r in reports] == ["fills.csv", "BTCUSDT_1m.csv"]


def test_known_coins_drops_other_fills_at_import(files):
    data, _ = ReplayData.load(*files, known_coins={"BTC"})
    assert [f.coin for f in data.fills] == ["BTC"]


def test_a_replay_without_bars_has_no_span():
    with pytest.raises(ValueError):
        ReplayData(fills=[], bars={}).span_ms()
