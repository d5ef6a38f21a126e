"""The adapter's read side over HTTP (the loopback emulator) answers exactly what the
simulator answers in process — with a fifth of the requests failing (429, 5xx, timeouts,
delays) and retried underneath."""

from __future__ import annotations

import asyncio

from tailgate.transport import Backoff, HttpTransport, RetryPolicy
from tailgate.venues.hyperliquid.emulator import EmulatedVenue, FaultPlan, serve
from tailgate.venues.hyperliquid.emulator.server import FAULTS_KEY
from tailgate.venues.hyperliquid.info import HyperliquidInfo
from tailgate.venues.hyperliquid.signing import Network
from tailgate.venues.sim import SimConfig, SimVenue, SimWorld

WORLD = SimConfig(seed=11, history_days=10, forward_days=2, coins=("BTC", "ETH", "SOL"))
FAULTS = FaultPlan(
    http_429_rate=0.07,
    http_5xx_rate=0.07,
    http_timeout_rate=0.03,
    delay_rate=0.1,
    max_delay_s=0.01,
    hang_s=0.3,
    retry_after_s=0.0,
    seed=5,
)


def test_the_feed_over_http_with_faults_equals_the_simulator_in_process():
    world = SimWorld(WORLD)
    now = world.config.start_ms + 12 * 3_600_000
    local = SimVenue(world, lambda: now)
    leaders = sorted(world.leader_addresses())[:20]

    async def run():
        emulated = EmulatedVenue(world, lambda: now, verify=lambda body: "")
        runner, port = await serve(emulated, FAULTS)
        url = f"http://127.0.0.1:{port}"
        http = HttpTransport(
            url,
            venue="hyperliquid",
            timeout_s=0.2,  # the emulator's "timeout" answers after 30 s
            retry=RetryPolicy(max_attempts=12, backoff=Backoff(base_s=0.001, max_s=0.01)),
        )
        info = HyperliquidInfo(
            http, leaderboard_url=f"{url}/Mainnet/leaderboard", now_ms=lambda: now
        )
        try:
            remote = {
                "markets": await info.markets(),
                "mids": await info.mids(),
                "book": await info.order_book("ETH"),
                "fills": {a: await info.leader_fills(a, 0, now + 1) for a in leaders},
                "states": {a: await info.leader_state(a) for a in leaders},
                "leaderboard": await info.leaderboard(30),
                "testnet_leaderboard": await HyperliquidInfo(
                    http, leaderboard_url=url + Network.TESTNET.leaderboard_path, now_ms=lambda: now
                ).leaderboard(30),  # (an engine on testnet asks at testnet's path)
            }
            injected = dict(runner.app[FAULTS_KEY].injected)
        finally:
            await http.aclose()
            await runner.cleanup()
        return remote, injected

    remote, injected = asyncio.run(run())
    assert remote["markets"] == asyncio.run(local.markets())
    assert remote["mids"] == asyncio.run(local.mids())
    assert remote["book"] == asyncio.run(local.order_book("ETH"))
    total = 0
    for leader in leaders:
        mine = asyncio.run(local.leader_fills(leader, 0, now + 1))
        assert remote["fills"][leader].fills == mine.fills, leader
        assert remote["states"][leader] == asyncio.run(local.leader_state(leader))
        total += len(mine.fills)
    assert total >= 1000  # enough history to page and to meet faults
    assert remote["leaderboard"] == asyncio.run(local.leaderboard(30))
    assert remote["testnet_leaderboard"] == remote["leaderboard"]
    assert min(injected.get(k, 0) for k in ("429", "5xx", "timeout", "delay")) >= 3, injected
