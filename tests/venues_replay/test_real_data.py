"""Smoke test on real history: the primetrade fills export with January 2025 1-minute bars.

Also pins what that window holds, because it decides what a replay over it can show: of the
four wallets, only 0x0833… trades BTC/ETH/SOL there (ETH 72, SOL 444 fills, all on 19–20 Jan),
0x72c6… trades HYPE (44 fills, no bars: the engine rejects them as UNKNOWN_COIN), and nobody
trades BTC (the export's BTC fills start in March 2025).
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from datetime import UTC, datetime

import pytest

from tailgate.venues.replay import ReplayData, ReplayVenue
from tests.shared_data import data_dir

pytestmark = pytest.mark.realdata

FILLS = "hl-trader-fills-primetrade/historical_data.csv"
PRICES = "ohlcv-1m-btc-eth-sol-benicio/2025-01"


def ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)


@pytest.fixture(scope="module")
def data() -> ReplayData:
    root = data_dir()
    if root is None or not (root / FILLS).exists() or not (root / PRICES).is_dir():
        pytest.skip("shared real data not found (set TAILGATE_DATA_DIR)")
    loaded, reports = ReplayData.load(root / FILLS, root / PRICES)
    assert reports[0].time_resolution_ms == 60_000
    return loaded


def test_the_window_holds_eth_and_sol_trades_of_one_wallet_and_no_btc(data: ReplayData):
    assert data.coins == ("BTC", "ETH", "SOL")
    assert data.fill_delay_ms == 60_000
    start, end = data.span_ms()
    assert (start, end) == (ms(2025, 1, 1), ms(2025, 1, 21, 20))
    counts = Counter((f.leader[:6], f.coin) for f in data.fills if start <= f.time_ms < end)
    assert counts == {("0x0833", "ETH"): 72, ("0x0833", "SOL"): 444, ("0x72c6", "HYPE"): 44}


def test_the_venue_answers_sensibly_inside_the_window(data: ReplayData):
    now = ms(2025, 1, 20, 12)
    venue = ReplayVenue(data, lambda: now)

    mids = asyncio.run(venue.mids())
    assert set(mids) == {"BTC", "ETH", "SOL"}
    assert 80_000 < mids["BTC"] < 120_000 and 2_000 < mids["ETH"] < 5_000
    assert 100 < mids["SOL"] < 400
    assert mids["BTC"] == data.bars["BTC"].close_at(now)

    for window in (7, 30, 90):
        board = asyncio.run(venue.leaderboard(window))
        assert board and all(e.account_value > 0 and math.isfinite(e.roi) for e in board)
        assert [e.pnl for e in board] == sorted((e.pnl for e in board), reverse=True)
    week = {e.leader[:6]: e for e in asyncio.run(venue.leaderboard(7))}
    assert week["0x0833"].volume > 0  # it traded on 19–20 Jan
    assert "0x513b" not in week  # its first fill is in April: not known yet

    leader = next(a for a in data.leaders if a.startswith("0x0833"))
    fills = asyncio.run(venue.leader_fills(leader, ms(2025, 1, 1), now + 1)).fills
    assert fills and all(f.time_ms + data.fill_delay_ms <= now for f in fills)
    assert {f.coin for f in fills} <= {"ETH", "SOL"}
    assert [f.time_ms for f in fills] == sorted(f.time_ms for f in fills)

    state = asyncio.run(venue.leader_state(leader))
    assert state.account_value > 0 and state.time_ms == now
    assert all(p.size > 0 and p.entry_price > 0 for p in state.positions)
    history = asyncio.run(venue.leader_portfolio(leader))
    assert history and history[-1][0] == now and all(v > 0 for _, v in history)
