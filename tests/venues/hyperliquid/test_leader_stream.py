"""Leaders' fills pushed over the emulator's WebSocket: by `userFills` for a few leaders, by
the `trades` channel (then `userFillsByTime`) for more than the venue's cap; the snapshot is
never taken as new, and every connection announces its gap first."""

from __future__ import annotations

import asyncio

import pytest

from tailgate.transport import Backoff, HttpTransport, RetryPolicy, StreamPolicy
from tailgate.venues.hyperliquid.emulator import EmulatedVenue, FaultPlan, serve
from tailgate.venues.hyperliquid.info import HyperliquidInfo
from tailgate.venues.hyperliquid.leader_stream import HyperliquidLeaderStream
from tailgate.venues.protocols import LeaderFillStream, PushedFills, StreamGap
from tailgate.venues.sim import SimConfig, SimVenue, SimWorld

WORLD = SimConfig(
    seed=5, history_days=3, forward_days=1, coins=("BTC", "ETH", "SOL"),
    n_swing=2, n_position=1, n_noise=2, n_hft=3, n_overleveraged=1, n_tiny_win=1,
)  # fmt: skip
STEP_MS = 300_000
STEPS = 120  # ten hours of world time, five minutes per step


def _local(world: SimWorld) -> SimVenue:
    """The simulator in process, at the end of every run: the truth to compare with."""
    end = world.config.start_ms + 3_600_000 + STEPS * STEP_MS
    return SimVenue(world, lambda: end)


def _busiest(world: SimWorld, local: SimVenue, start: int, end: int, n: int) -> list[str]:
    counts = {
        a: len(asyncio.run(local.leader_fills(a, start + 1, end + 1)).fills)
        for a in world.leader_addresses()
    }
    return sorted(counts, key=lambda a: (-counts[a], a))[:n]


def _stream_run(
    world: SimWorld, leaders: list[str], *, max_users: int, plan: FaultPlan | None = None
) -> tuple[list[PushedFills | StreamGap], HyperliquidLeaderStream, int, int]:
    now = [world.config.start_ms + 3_600_000]
    start = now[0]

    async def run() -> tuple[list[PushedFills | StreamGap], HyperliquidLeaderStream]:
        emulated = EmulatedVenue(world, lambda: now[0], verify=lambda body: "")
        runner, port = await serve(emulated, plan, push_interval_s=0.005)
        http = HttpTransport(
            f"http://127.0.0.1:{port}",
            venue="hyperliquid",
            retry=RetryPolicy(max_attempts=8, backoff=Backoff(base_s=0.001, max_s=0.005)),
        )
        info = HyperliquidInfo(http, now_ms=lambda: now[0])
        policy = StreamPolicy(reconnect=Backoff(base_s=0.01, max_s=0.02), tick_s=0.05)
        stream = HyperliquidLeaderStream(
            f"ws://127.0.0.1:{port}/ws",
            info,
            [m.coin for m in world.markets],
            max_users=max_users,
            policy=policy,
        )
        events: list[PushedFills | StreamGap] = []

        async def collect() -> None:
            async for event in stream.events():
                events.append(event)

        collector = asyncio.create_task(collect())
        try:
            await stream.follow(leaders)
            for _ in range(200):  # connected and subscribed before the world moves
                if stream.healthy or any(isinstance(e, StreamGap) for e in events):
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.05)
            for _ in range(STEPS):
                now[0] += STEP_MS
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.2)  # the last pushes and reads
        finally:
            collector.cancel()
            await stream.close()
            await http.aclose()
            await runner.cleanup()
        return events, stream

    events, stream = asyncio.run(run())
    return events, stream, start, now[0]


def _pushed_keys(events: list[PushedFills | StreamGap]) -> list[str]:
    return [f.dedupe_key for e in events if isinstance(e, PushedFills) for f in e.page.fills]


def test_user_fills_stream_pushes_every_new_fill_and_never_the_snapshot():
    world = SimWorld(WORLD)
    local = _local(world)
    start = world.config.start_ms + 3_600_000
    leaders = _busiest(world, local, start, start + STEPS * STEP_MS, 3)
    events, stream, start, end = _stream_run(world, leaders, max_users=10)
    assert isinstance(stream, LeaderFillStream)
    assert stream.mode == "userFills"
    assert isinstance(events[0], StreamGap) and sorted(events[0].leaders) == sorted(leaders)
    assert stream.snapshots_skipped > 0  # the replay on subscribe came, and was not taken
    expected = sorted(
        f.dedupe_key
        for a in leaders
        for f in asyncio.run(local.leader_fills(a, start + 1, end + 1)).fills
    )
    pushed = _pushed_keys(events)
    assert len(expected) >= 20
    assert sorted(pushed) == expected  # each new fill once, none from before the connect
    assert all(e.received_ns > 0 for e in events if isinstance(e, PushedFills))


def test_above_the_user_cap_the_trades_channel_finds_the_leaders_fills():
    world = SimWorld(WORLD)
    local = _local(world)
    start = world.config.start_ms + 3_600_000
    leaders = _busiest(world, local, start, start + STEPS * STEP_MS, 4)
    events, stream, start, end = _stream_run(world, leaders, max_users=2)
    assert stream.mode == "trades"
    assert stream.trade_reads > 0
    expected = sorted(
        f.dedupe_key
        for a in leaders
        for f in asyncio.run(local.leader_fills(a, start + 1, end + 1)).fills
    )
    assert len(expected) >= 20
    # a leader's fills at one millisecond may be read twice (two trades messages): once each
    assert sorted(set(_pushed_keys(events))) == expected


@pytest.mark.parametrize("max_users", [10, 2])
def test_a_dropped_connection_announces_its_gap_again(max_users):
    world = SimWorld(WORLD)
    local = _local(world)
    start = world.config.start_ms + 3_600_000
    leaders = _busiest(world, local, start, start + STEPS * STEP_MS, 3)
    plan = FaultPlan(ws_drop_rate=0.1, ws_duplicate_rate=0.2, ws_reorder_rate=0.2, seed=4)
    events, stream, start, end = _stream_run(world, leaders, max_users=max_users, plan=plan)
    gaps = [e for e in events if isinstance(e, StreamGap)]
    assert stream.connections >= 2 and len(gaps) >= stream.connections
    expected = {
        f.dedupe_key
        for a in leaders
        for f in asyncio.run(local.leader_fills(a, start + 1, end + 1)).fills
    }
    assert set(_pushed_keys(events)) <= expected  # nothing pushed that did not happen
