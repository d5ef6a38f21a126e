"""The engine on Hyperliquid's protocol with leaders' fills pushed over the WebSocket, a fifth
of everything faulty and the venue down for a few minutes: no leader fill is missed or copied
twice, the breakers open in the outage and close after it, and most trades arrive by push.

Two ways of streaming are run: `userFills` per leader (at most 10 leaders, the venue's cap)
and, for more leaders, the public `trades` channel filtered by its users. The leader set is
chosen once (no daily refresh within the run), so "every fill" has one meaning: every fill of
the followed leaders from the first poll's look-back to three simulated hours before the end
(what is still in flight when the engine stops is the next start's to back-fill) — the
simulator's own ledger.
"""

from __future__ import annotations

import asyncio

import pytest

from tailgate.config import load_settings
from tailgate.engine.clock import SimClock
from tailgate.engine.hyperliquid_session import run_hyperliquid
from tailgate.engine.ingestion import POLL_LOOKBACK_MS
from tailgate.logs import configure_logging
from tailgate.store import Store
from tailgate.store.records import OrderPurpose
from tailgate.transport import (
    Backoff,
    BreakerPolicy,
    RetryPolicy,
    StreamPolicy,
    TransportMetrics,
)
from tailgate.venues.hyperliquid.emulator import EmulatedVenue, FaultPlan, serve
from tailgate.venues.hyperliquid.emulator.server import FAULTS_KEY
from tailgate.venues.sim import SimConfig, SimVenue, SimWorld

pytestmark = pytest.mark.integration

MS_H = 3_600_000
SETTLE_MS = 3 * MS_H  # at 50,000x, 3 simulated hours are 0.2 s of wall time
LOG_LEVEL = "WARNING"


def _world(days: int) -> SimWorld:
    leaders = {"n_swing": 20, "n_position": 4, "n_noise": 6, "n_hft": 4}
    return SimWorld(
        SimConfig(
            seed=21,
            history_days=25,
            forward_days=days + 1,
            coins=("BTC", "ETH", "SOL"),
            n_overleveraged=2,
            n_tiny_win=2,
            **leaders,
        )
    )


def _faults(start_ms: int) -> FaultPlan:
    """A fifth of the requests failing (429, 5xx, answers lost after the venue acted), a tenth
    answered late; messages dropped with their connection, duplicated, reordered; and the
    venue down for half an hour on the first day."""
    outage = (start_ms + 6 * MS_H, start_ms + 6 * MS_H + 30 * 60_000)
    return FaultPlan(
        http_429_rate=0.09,
        http_5xx_rate=0.09,
        http_timeout_rate=0.02,
        delay_rate=0.1,
        max_delay_s=0.003,
        ws_drop_rate=0.05,
        ws_duplicate_rate=0.1,
        ws_reorder_rate=0.1,
        retry_after_s=0.0,
        hang_s=0.06,
        outages=(outage,),
        seed=3,
    )


def _run(tmp_path, *, days: int, leaders: int, pace: float) -> dict:
    configure_logging(LOG_LEVEL, "json", tmp_path / f"engine-{leaders}.log")
    world = _world(days)
    start = world.config.start_ms
    end = start + days * 24 * MS_H
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path}/streaming-{leaders}.db",
        workdir=tmp_path,
        min_trades_required=10,
        copy_delay_minutes=0,
        primary_count=leaders,
        reconciliation_enabled=False,  # the paper account is the store's
        leader_refresh_interval_hours=10_000,  # one leader set for the whole run
        poll_interval_trades_sec=300,  # skipped while the stream covers…
        stream_safety_poll_minutes=6 * 60,  # …but for one every six hours
        monitor_interval_sec=1800,
        deferred_check_interval_sec=1800,
        leader_state_refresh_sec=1800,  # leaders' states read ahead: a request each, faulted too
    )
    metrics = TransportMetrics()

    async def over_the_emulator() -> dict:
        clock = SimClock(start, end, pace=pace)
        emulated = EmulatedVenue(world, clock.now_ms, verify=lambda b: "")
        runner, port = await serve(emulated, _faults(start), push_interval_s=0.005)
        url = f"http://127.0.0.1:{port}"
        store = Store.open(settings.resolved_database_url())
        try:
            engine = await run_hyperliquid(
                settings,
                clock,
                store,
                base_url=url,
                retry=RetryPolicy(max_attempts=6, backoff=Backoff(base_s=0.001, max_s=0.004)),
                breaker=BreakerPolicy(failure_threshold=5, cooldown_s=60.0),
                timeout_s=0.03,  # the emulator answers in a few ms; a lost answer in 60
                rate_limited=False,  # the emulator's clock outruns the venue's wall-time budget
                metrics=metrics,
                stream_policy=StreamPolicy(reconnect=Backoff(base_s=0.001, max_s=0.01)),
            )
            assert engine.streaming is not None
            with store.engine.connect() as conn:
                seen = [
                    r[0] for r in conn.exec_driver_sql("SELECT dedupe_key FROM leader_fills_seen")
                ]
            orders = store.load_orders()
            return {
                "followed": sorted(t.address for t in engine.leaders.primary),
                "seen": seen,
                "entries_per_trade": [
                    o.leader_trade_id
                    for o in orders
                    if o.purpose is OrderPurpose.ENTRY and o.leader_trade_id is not None
                ],
                "stream": engine.streaming.stats,
                "mode": engine.streaming.stream.mode,  # type: ignore[attr-defined]
                "stats": engine.stats,
                "injected": dict(runner.app[FAULTS_KEY].injected),
            }
        finally:
            store.close()
            await runner.cleanup()

    result = asyncio.run(over_the_emulator())
    venue = SimVenue(world, lambda: end)
    fills = [
        f
        for leader in result["followed"]
        for f in asyncio.run(venue.leader_fills(leader, start - POLL_LOOKBACK_MS, end + 1)).fills
    ]
    # the engine stops at `end` with the last pushes still in flight: a fill of the run's
    # last moments may be left to the next start's back-fill. Before that margin, all of them.
    settled = end - SETTLE_MS
    result["truth"] = sorted(f.dedupe_key for f in fills if f.time_ms <= settled)
    result["real"] = {f.dedupe_key for f in fills}
    result["late"] = {f.dedupe_key for f in fills if f.time_ms > settled}
    result["transitions"] = {
        (s.labels["endpoint"], s.labels["state"]): s.value
        for family in metrics.registry.collect()
        if family.name == "tailgate_transport_breaker_transitions"
        for s in family.samples
        if s.name.endswith("_total")
    }
    result["breakers"] = {
        s.labels["endpoint"]: s.value
        for family in metrics.registry.collect()
        if family.name == "tailgate_transport_breaker_state"
        for s in family.samples
    }
    return result


def _check(result: dict, *, min_fills: int, min_leaders: int) -> None:
    seen, truth = result["seen"], result["truth"]
    assert len(result["followed"]) >= min_leaders
    assert len(truth) >= min_fills, len(truth)
    assert len(seen) == len(set(seen))  # the durable dedupe: each fill once
    assert set(seen) <= result["real"]  # nothing but the followed leaders' fills
    assert sorted(set(seen) - result["late"]) == truth  # every one of them, once
    entries = result["entries_per_trade"]
    assert len(entries) == len(set(entries)) and entries  # no leader trade copied twice
    stream = result["stream"]
    assert stream.backfills >= 2  # the first connection, and reconnections after drops
    assert stream.pushed_trades > stream.backfill_trades  # the stream is the fast path
    injected = result["injected"]
    for kind in ("429", "5xx", "timeout", "outage", "ws_drop", "ws_duplicate", "ws_reorder"):
        assert injected.get(kind, 0) >= 1, (kind, injected)
    opened = sum(v for (_, state), v in result["transitions"].items() if state == "open")
    closed = sum(v for (_, state), v in result["transitions"].items() if state == "closed")
    assert opened >= 1 and closed >= 1, result["transitions"]  # opened in the outage, recovered
    assert all(v == 0 for v in result["breakers"].values()), result["breakers"]  # all closed
    assert result["stats"].loop_errors == 0
    assert result["stats"].venue_unavailable >= 1  # the outage was felt, not fatal


def test_more_leaders_than_the_user_cap_stream_by_the_trades_channel(tmp_path):
    result = _run(tmp_path, days=9, leaders=16, pace=50_000.0)
    assert result["mode"] == "trades"
    _check(result, min_fills=1000, min_leaders=15)


def test_up_to_ten_leaders_stream_their_user_fills(tmp_path):
    result = _run(tmp_path, days=2, leaders=8, pace=50_000.0)
    assert result["mode"] == "userFills"
    _check(result, min_fills=50, min_leaders=8)
