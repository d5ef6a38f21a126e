"""The trade fingerprint: same input, same fingerprint; any trade changed, a different one."""

from __future__ import annotations

import asyncio

import pytest

from tailgate.backtest.fingerprint import fingerprint_trades, store_fingerprint
from tailgate.config import load_settings
from tailgate.domain.models import Market
from tailgate.engine.sim_session import run_sim_session
from tailgate.logs import configure_logging

MARKETS = {"BTC": Market("BTC", 5, 40), "SOL": Market("SOL", 2, 20)}
TRADES = [(1_000, "BTC", True, 0.12345, 97_123.4), (2_000, "SOL", False, 3.5, 141.237)]


def test_fingerprint_is_stable_and_ignores_noise_below_the_venue_grid():
    a = fingerprint_trades(TRADES, MARKETS)
    noisy = [(t, c, b, s * (1 + 1e-12), p * (1 + 1e-12)) for t, c, b, s, p in TRADES]
    assert fingerprint_trades(noisy, MARKETS) == a
    assert len(a) == 64


@pytest.mark.parametrize(
    "change",
    [
        lambda t: (t[0] + 1, *t[1:]),
        lambda t: (t[0], "SOL", *t[2:]),
        lambda t: (*t[:2], not t[2], *t[3:]),
        lambda t: (*t[:3], t[3] + 0.00001, t[4]),
        lambda t: (*t[:4], t[4] + 1.0),
    ],
)
def test_any_changed_field_changes_the_fingerprint(change):
    changed = [change(TRADES[0]), TRADES[1]]
    assert fingerprint_trades(changed, MARKETS) != fingerprint_trades(TRADES, MARKETS)


def test_order_matters():
    assert fingerprint_trades(TRADES[::-1], MARKETS) != fingerprint_trades(TRADES, MARKETS)


@pytest.mark.integration
def test_two_runs_of_the_same_world_trade_identically_and_another_seed_does_not(tmp_path):
    configure_logging("WARNING", "json", tmp_path / "log")

    def run(name: str, seed: int) -> str:
        settings = load_settings(database_url=f"sqlite:///{tmp_path}/{name}.db", sim_seed=seed)
        session = asyncio.run(run_sim_session(settings, days=5))
        markets = {m.coin: m for m in session.world.markets}
        try:
            return store_fingerprint(session.store, markets)
        finally:
            session.store.close()

    first = run("a", 7)
    assert first == run("b", 7)
    assert first != run("c", 8)


@pytest.mark.integration
def test_backtest_and_paper_mode_on_the_same_input_trade_identically(tmp_path):
    """Backtest: the simulated clock as fast as possible. Paper: the live runner on a paced,
    accelerated clock. Same world, same engine code — the same fingerprint."""
    from tailgate.config import Mode
    from tailgate.venues.sim import SimConfig, SimWorld

    configure_logging("WARNING", "json", tmp_path / "log")
    world = SimWorld(SimConfig(seed=7, forward_days=6))
    markets = {m.coin: m for m in world.markets}

    def run(name: str, mode: Mode, pace: float | None) -> str:
        settings = load_settings(database_url=f"sqlite:///{tmp_path}/{name}.db", mode=mode)
        session = asyncio.run(run_sim_session(settings, days=3, world=world, pace=pace))
        try:
            assert session.store.table_counts()["fills"] > 0
            return store_fingerprint(session.store, markets)
        finally:
            session.store.close()

    backtest = run("backtest", Mode.BACKTEST, None)
    paper = run("paper", Mode.PAPER, 2_000_000.0)  # 3 days in ~0.13 s of pacing
    assert backtest == paper
