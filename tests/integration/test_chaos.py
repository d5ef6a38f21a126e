"""SIGKILL chaos in CI (SPEC §E1): at least 50 kills of the engine process at random moments
against the persistent simulator venue, then the invariants of `tests/integration/chaos.py`.

About 2-3 minutes: each life costs a process start (~1.2 s: imports, world, store, venue,
reconciliation) plus up to 2.5 s of trading. `make chaos` runs the same with 200 kills.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tailgate.config import load_settings
from tailgate.domain.models import MS_PER_HOUR
from tailgate.domain.precision import round_price
from tailgate.engine.sim_session import run_sim_session
from tailgate.logs import configure_logging
from tailgate.venues.protocols import OrderRequest
from tailgate.venues.sim import SimConfig, SimVenue, SimWorld
from tests.integration.chaos import ChaosConfig, run_chaos

pytestmark = pytest.mark.integration

KILLS = 50
SEED = 20250301  # the kill moments; the engine's world is the default sim seed's
TINY = SimConfig(seed=5, history_days=2, forward_days=3, coins=("BTC", "ETH"), n_noise=10)


def test_fifty_sigkills_lose_and_repeat_nothing(tmp_path: Path) -> None:
    result = run_chaos(ChaosConfig(workdir=tmp_path / "chaos", kills=KILLS, seed=SEED))
    print(result.summary())  # shown with -s, and on failure
    assert result.kills >= KILLS
    assert not result.violations, result.summary()
    # the run traded: the kills landed among orders, fills and stops, not on an idle engine
    assert result.counts["venue_fills"] >= 100, result.summary()
    assert result.counts["stop_filled"] >= 1, result.summary()
    assert result.counts["leader_fills_verified"] >= 1000, result.summary()
    # ... and the follower traded alongside, through the same kills
    assert result.counts["follower-1:venue_fills"] >= 50, result.summary()


def test_a_restart_after_a_kill_resumes_at_the_venues_time_and_keeps_the_absolute_end(
    tmp_path: Path,
) -> None:
    """No `clock_ms` checkpoint (the process was killed): the venue's last commit says how far
    the run got; `until_ms` stays the end whatever the restart time."""
    configure_logging("WARNING", "json", tmp_path / "engine.log")
    settings = load_settings(database_url=f"sqlite:///{tmp_path}/t.db", workdir=tmp_path)
    world = SimWorld(TINY)
    path = tmp_path / "venue.db"
    crashed_at = world.start_ms + 3 * MS_PER_HOUR
    venue = SimVenue(world, lambda: crashed_at, state_path=path)
    market = world.market("BTC")
    assert market is not None
    price = round_price(world.price_at("BTC", crashed_at) * 1.01, market, is_buy=True)
    asyncio.run(venue.place_order(OrderRequest("0xkilled", "BTC", True, 0.1, price)))
    venue.close()
    end = world.start_ms + 5 * MS_PER_HOUR

    first = asyncio.run(
        run_sim_session(settings, days=1, world=world, resume=True, venue_state=path, until_ms=end)
    )
    assert (first.start_ms, first.end_ms) == (crashed_at, end)
    assert first.venue.state_path == path
    first.store.close()
    second = asyncio.run(  # a clean stop at the end checkpoints it: nothing left to run
        run_sim_session(settings, days=1, world=world, resume=True, venue_state=path, until_ms=end)
    )
    assert (second.start_ms, second.end_ms) == (end, end)
    second.store.close()
    reopened = SimVenue(world, lambda: end, state_path=path)  # closed by the sessions
    assert reopened.submissions_by_client_id()["0xkilled"] == 1
    assert reopened.last_time_ms is not None and reopened.last_time_ms <= end
    reopened.close()
