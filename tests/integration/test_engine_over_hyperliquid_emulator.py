"""The engine in paper mode on Hyperliquid's protocol: leaders, fills, books and mids over
HTTP from the loopback emulator with faults injected; our orders filled on the live book.
It ingests exactly the leader trades the in-process simulator run ingests."""

from __future__ import annotations

import asyncio

import pytest

from tailgate.config import load_settings
from tailgate.engine.clock import SimClock
from tailgate.engine.hyperliquid_session import run_hyperliquid
from tailgate.engine.sim_session import run_engine_on_clock
from tailgate.logs import configure_logging
from tailgate.store import Store
from tailgate.store.records import OrderPurpose
from tailgate.transport import Backoff, RetryPolicy
from tailgate.venues.hyperliquid.emulator import EmulatedVenue, FaultPlan, serve
from tailgate.venues.hyperliquid.emulator.server import FAULTS_KEY
from tailgate.venues.sim import SimConfig, SimVenue, SimWorld

pytestmark = pytest.mark.integration

HOURS = 12
CONFIG = SimConfig(
    seed=21, history_days=25, forward_days=2, coins=("BTC", "ETH", "SOL"),
    n_swing=8, n_position=4, n_noise=10, n_hft=3, n_overleveraged=3, n_tiny_win=2,
)  # fmt: skip
FAULTS = FaultPlan(
    http_429_rate=0.05, http_5xx_rate=0.05, http_timeout_rate=0.02, delay_rate=0.05,
    max_delay_s=0.005, retry_after_s=0.0, hang_s=0.2, seed=3,
)  # fmt: skip
SETTINGS = {
    "min_trades_required": 10,
    "copy_delay_minutes": 0,
    "primary_count": 6,
    "reconciliation_enabled": False,  # the paper account is the store's; nothing to compare
}


def test_the_engine_runs_on_the_emulated_feed_and_ingests_what_the_simulator_does(tmp_path):
    configure_logging("WARNING", "json", tmp_path / "engine.log")
    world = SimWorld(CONFIG)
    start, end = world.config.start_ms, world.config.start_ms + HOURS * 3_600_000

    def settings(name: str):
        return load_settings(
            database_url=f"sqlite:///{tmp_path}/{name}.db", workdir=tmp_path, **SETTINGS
        )

    async def over_http() -> dict[str, int]:
        clock = SimClock(start, end)
        emulated = EmulatedVenue(world, clock.now_ms, verify=lambda b: "")
        runner, port = await serve(emulated, FAULTS)
        url = f"http://127.0.0.1:{port}"
        store = Store.open(settings("http").resolved_database_url())
        try:
            engine = await run_hyperliquid(
                settings("http"),
                clock,
                store,
                base_url=url,
                leaderboard_url=f"{url}/Mainnet/leaderboard",
                retry=RetryPolicy(max_attempts=10, backoff=Backoff(base_s=0.001, max_s=0.005)),
                timeout_s=0.1,
                rate_limited=False,  # the emulator's clock outruns the venue's wall-time budget
                stream=False,  # polled, as in process (the stream: test_engine_streaming_…)
            )
            injected = dict(runner.app[FAULTS_KEY].injected)
            return {
                "trades": sorted(t.key for t in store.load_leader_trades()),
                "entries": sum(
                    o.purpose is OrderPurpose.ENTRY and o.filled_size > 0
                    for o in store.load_orders()
                ),
                "refreshes": engine.stats.refreshes,
                "loop_errors": engine.stats.loop_errors,
                "injected": injected,
            }
        finally:
            store.close()
            await runner.cleanup()

    async def in_process() -> list[str]:
        clock = SimClock(start, end)
        venue = SimVenue(world, clock.now_ms)
        store = Store.open(settings("local").resolved_database_url())
        try:
            await run_engine_on_clock(settings("local"), clock, venue, store)
            return sorted(t.key for t in store.load_leader_trades())
        finally:
            store.close()

    remote = asyncio.run(over_http())
    local = asyncio.run(in_process())
    assert remote["refreshes"] >= 1 and remote["loop_errors"] == 0
    assert len(remote["trades"]) >= 5 and remote["trades"] == local
    assert min(remote["injected"].get(k, 0) for k in ("429", "5xx", "timeout")) >= 3, remote[
        "injected"
    ]
    assert remote["entries"] >= 1  # and it traded: entries filled on the emulated book
