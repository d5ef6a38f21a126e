"""Benchmarks: one line per figure, `METRIC <name> <value> <unit>` (`make bench` also runs
bench/hl_signing.py and bench/hl_latency.py, which document their own figures).

How they are measured (reproduce with `make bench`; figures depend on the machine):
- pipeline_leader_trades_per_s: the nine-step `evaluate_trade` over leader trades recorded
  from the simulator (every leader's fills over 30 days, aggregated by order), each with a
  context that lets it reach step 9 unless a gate rejects it; best of 5 passes.
- demo_sim_days_per_s: the whole engine (refresh, ingestion, pipeline, store on SQLite,
  paper fills on the simulator) over 30 simulated days, world generation excluded.
- sim_world_build_s: generating the simulator's prices and leader population (150 days).
- backtest_price_events_per_s: `tailgate backtest` on the simulator (6 days, positions open):
  1-minute bars × coins replayed per wall second. The engine samples marks every
  MONITOR_INTERVAL (30 s) and settles venue stops bar by bar; world generation excluded.
  backtest_price_events_per_s_10x is the same over 60 days, where the first leader refresh
  (reading every candidate's 90 days of fills) is a smaller share of the run.
- backtest_leader_trades_per_s: leader trades (every primary leader's, aggregated by order)
  taken through ingestion and the pipeline per wall second in that replay.
- fanout_followers_per_s: one leader trade the pipeline accepted → an intent for each of
  10,000 subscribed followers (sizing, the follower's guardrails, client ids) AND those
  intents committed with the trade in one transaction (SQLite file); best of 3.
  fanout_10k_s is the wall time of that for 10,000; fanout_plan_followers_per_s the
  planning alone.
- backtest_peak_rss_mb_1x / _10x: peak resident memory of a fresh process replaying 6 and 60
  simulated days (the world generated for the longer span is part of it).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tailgate.config import load_settings
from tailgate.domain import aggregate_fills, evaluate_trade
from tailgate.domain.models import MS_PER_DAY, PortfolioView, Trader, TraderStyle
from tailgate.domain.signals import PipelineContext
from tailgate.engine.sim_session import run_sim_session
from tailgate.logs import configure_logging
from tailgate.venues.sim import SimConfig, SimVenue, SimWorld


def metric(name: str, value: float, unit: str) -> None:
    print(f"METRIC {name} {value:.6g} {unit}", flush=True)


def recorded_trades(world: SimWorld, days: int) -> list:
    start = world.config.start_ms
    end = start + days * MS_PER_DAY
    venue = SimVenue(world, lambda: end)
    trades = []
    for address in world.leader_addresses():
        page = asyncio.run(venue.leader_fills(address, start, end))
        trades.extend(aggregate_fills(page.fills))
    return trades


def bench_pipeline(world: SimWorld) -> None:
    trades = recorded_trades(world, 30)
    trader = Trader(
        address="bench",
        account_value=1e6,
        roi_7d=0.12,
        roi_30d=0.2,
        roi_90d=0.4,
        score=0.85,
        win_rate=0.6,
        trade_count=120,
        style=TraderStyle.SWING,
    )
    portfolio = PortfolioView(
        account_value=100_000.0,
        open_positions=2,
        total_exposure_usd=20_000.0,
        exposure_by_coin={"BTC": 10_000.0},
        open_coins=frozenset({"BTC"}),
    )
    cases = []
    for t in trades:
        ctx = PipelineContext(
            now_ms=t.time_ms + 16 * 60_000,
            current_price=t.price * 1.001,
            leader_account_value=max(t.value_usd * 4, 1.0),
            leader_position_open_ms=t.time_ms,
            leader_position_open=True,
            leader_leverage=3.0,
            portfolio=portfolio,
            reentry=True,
        )
        cases.append((t, ctx))
    best = float("inf")
    for _ in range(5):
        began = time.perf_counter()
        for t, ctx in cases:
            evaluate_trade(t, trader, ctx)
        best = min(best, time.perf_counter() - began)
    metric("pipeline_leader_trades_per_s", len(cases) / best, "trades/s")
    metric("pipeline_trades_evaluated", len(cases), "trades")


def bench_demo(days: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(database_url=f"sqlite:///{tmp}/bench.db", workdir=Path(tmp))
        configure_logging("WARNING", "json", Path(tmp) / "bench.log")
        world = SimWorld(SimConfig(seed=settings.sim_seed, forward_days=days + 2))
        session = asyncio.run(run_sim_session(settings, days=days, world=world))
        session.store.close()
    metric("demo_sim_days_per_s", days / session.wall_seconds, "days/s")
    metric("demo_wall_s_for_days", session.wall_seconds, f"s/{days}days")


def bench_backtest_child(days: int) -> None:
    """Run in a fresh process: one replay, then its figures and peak RSS on stdout."""

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(database_url=f"sqlite:///{tmp}/bt.db", workdir=Path(tmp))
        configure_logging("WARNING", "json", Path(tmp) / "bt.log")
        world = SimWorld(SimConfig(seed=settings.sim_seed, forward_days=days + 2))
        session = asyncio.run(run_sim_session(settings, days=days, world=world))
        trades = session.store.table_counts()["leader_trades"]
        session.store.close()
    events = days * 1440 * len(world.coins)
    rss_mb = _peak_rss_mb()
    print(f"{events / session.wall_seconds} {trades / session.wall_seconds} {rss_mb}")


def _peak_rss_mb() -> float:
    """This process's peak RSS. Not `ru_maxrss`: on Linux it survives exec, so a child would
    report its parent's peak; VmHWM belongs to the new address space."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_backtest() -> None:
    import subprocess

    figures = {}
    for days in (6, 60):
        out = subprocess.run(
            [sys.executable, __file__, "--backtest-child", str(days)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        figures[days] = [float(x) for x in out[-3:]]
    metric("backtest_price_events_per_s", figures[6][0], "events/s")
    # the same over 60 days: the first leader refresh (90 days of history) weighs less
    metric("backtest_price_events_per_s_10x", figures[60][0], "events/s")
    metric("backtest_leader_trades_per_s", figures[6][1], "trades/s")
    metric("backtest_peak_rss_mb_1x", figures[6][2], "MB/6days")
    metric("backtest_peak_rss_mb_10x", figures[60][2], "MB/60days")


FANOUT_FOLLOWERS = 10_000


def bench_fanout() -> None:
    from tailgate.domain.followers import ALL_LEADERS, Follower, Subscription
    from tailgate.domain.models import Action, LeaderTrade, Market, OrderType, Side
    from tailgate.domain.reasons import ReasonCode
    from tailgate.domain.signals import Signal, SignalOutcome
    from tailgate.engine.desk import open_desk
    from tailgate.engine.fanout import Fanout
    from tailgate.engine.leaders import LeaderBook
    from tailgate.store import Store

    class NoVenue:  # planning never calls the venue; startup finds nothing to settle
        async def markets(self) -> list[Market]:
            return []

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(database_url=f"sqlite:///{tmp}/fanout.db", workdir=tmp)
        store = Store.open(settings.resolved_database_url())
        btc = Market("BTC", sz_decimals=5, max_leverage=40)
        markets = {"BTC": btc}
        params = settings.copy_params()
        leaders = LeaderBook(NoVenue(), store, params, markets)  # type: ignore[arg-type]
        followers = [
            Follower(f"f{i:05d}", signer=f"0x{i:040x}", capital_usd=10_000 + i)
            for i in range(FANOUT_FOLLOWERS)
        ]
        for i, f in enumerate(followers):
            store.save_follower(f, 0)
            store.save_subscription(Subscription(f.account, ALL_LEADERS, 0.001 + i * 1e-7), 0)

        async def desks() -> list:
            return [
                await open_desk(
                    settings,
                    store,
                    account=f.account,
                    signer=f.signer,
                    starting_cash=f.capital_usd,
                    gateway=NoVenue(),  # type: ignore[arg-type]
                    venue_account=None,
                    feed=NoVenue(),  # type: ignore[arg-type]
                    market=NoVenue(),  # type: ignore[arg-type]
                    markets=markets,
                    leaders=leaders,
                    params=params,
                    now_ms=0,
                    clock_ms=lambda: 0,
                    follower=f,
                )
                for f in followers
            ]

        fanout = Fanout(store, asyncio.run(desks()), store.load_subscriptions(), markets)
        mids = {"BTC": 60_000.0}
        plan_s, total_s = [], []
        for n in range(3):
            trade = LeaderTrade(
                "0xL",
                "BTC",
                Side.LONG,
                Action.OPEN,
                2.0,
                60_000.0,
                1_000,
                n,
                0.0,
                2.0,
                fill_keys=(f"0xL:{n}",),
            )
            signal = Signal(
                trade,
                SignalOutcome.ACCEPTED,
                ReasonCode.SIZED,
                [],
                order_type=OrderType.MARKET,
                limit_price=60_300.0,
                size_usd=5_000.0,
            )
            t0 = time.perf_counter()
            orders = fanout.plan(trade, signal, 1_000, mids, market_seen_ms=1_000)
            t1 = time.perf_counter()
            store.record_trade(trade, signal, seen_ms=1_000, fanout=orders)
            t2 = time.perf_counter()
            assert len(orders) == FANOUT_FOLLOWERS and all(o.id for o in orders)
            plan_s.append(t1 - t0)
            total_s.append(t2 - t0)
        store.close()
    metric("fanout_plan_followers_per_s", FANOUT_FOLLOWERS / min(plan_s), "followers/s")
    metric("fanout_followers_per_s", FANOUT_FOLLOWERS / min(total_s), "followers/s")
    metric("fanout_10k_s", min(total_s) * 10_000 / FANOUT_FOLLOWERS, "s")


def main() -> int:
    began = time.perf_counter()
    builds = []
    for _ in range(3):
        t0 = time.perf_counter()
        world = SimWorld(SimConfig(seed=7, forward_days=60))
        builds.append(time.perf_counter() - t0)
    metric("sim_world_build_s", statistics.median(builds), "s")
    bench_pipeline(world)
    bench_fanout()
    bench_demo(30)
    bench_backtest()
    metric("bench_total_s", time.perf_counter() - began, "s")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--backtest-child":
        bench_backtest_child(int(sys.argv[2]))
        sys.exit(0)
    sys.exit(main())
