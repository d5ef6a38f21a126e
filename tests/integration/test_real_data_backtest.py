"""§B4: a backtest on real history, end to end — the primetrade leader fills over the days the
benicio 1-minute BTC/ETH/SOL bars cover, leaders scored from the fills that precede each
moment. Skips cleanly without ../shared/data."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tailgate.backtest.fingerprint import store_fingerprint
from tailgate.config import load_settings
from tailgate.engine.replay_session import run_replay_session
from tailgate.logs import configure_logging
from tests.shared_data import data_dir

pytestmark = [pytest.mark.integration, pytest.mark.realdata]

FILLS = "hl-trader-fills-primetrade/historical_data.csv"
PRICES = "ohlcv-1m-btc-eth-sol-benicio/2025-01"


def _data_dir() -> Path:
    root = data_dir()
    if root is None or not (root / FILLS).is_file() or not (root / PRICES).is_dir():
        pytest.skip("../shared/data is not here")
    return root


def _replay(tmp_path: Path, name: str, **overrides):
    root = _data_dir()
    settings = load_settings(database_url=f"sqlite:///{tmp_path}/{name}.db", **overrides)
    return asyncio.run(
        run_replay_session(
            settings,
            fills=root / "hl-trader-fills-primetrade" / "historical_data.csv",
            prices=root / "ohlcv-1m-btc-eth-sol-benicio" / "2025-01",
        )
    )


def test_a_real_data_backtest_runs_end_to_end_and_is_reproducible(tmp_path):
    configure_logging("WARNING", "json", tmp_path / "log")
    first = _replay(tmp_path, "a")
    try:
        fills_report = first.reports[0]
        assert (fills_report.rows_read, fills_report.rows_imported) == (15_629, 14_530)
        assert 20 < first.simulated_days < 21.5  # 2025-01-01 → 01-21, the bars' span
        assert first.engine.stats.loop_errors == 0
        assert first.engine.stats.refreshes >= 20  # a daily refresh, scores from past fills
        leaders = first.store.load_leaders()
        assert len(leaders) >= 3
        for t in leaders:  # each one judged, with a reason when not copied
            assert t.tier.value == "primary" or t.disqualified_reason
        markets = {m.coin: m for m in asyncio.run(first.venue.markets())}
        assert set(markets) == {"BTC", "ETH", "SOL"}
        fingerprint = store_fingerprint(first.store, markets)
    finally:
        first.store.close()
    again = _replay(tmp_path, "b")
    try:
        assert store_fingerprint(again.store, markets) == fingerprint
    finally:
        again.store.close()
