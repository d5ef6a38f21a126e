"""Copy latency on Hyperliquid's protocol: a leader's fill pushed over the WebSocket → our
signed order's bytes handed to the socket.

    python bench/hl_latency.py [--seconds 60] [--speed 10000]

The loopback emulator runs in a child process (its CPU is not ours, as the venue's is not),
serving a simulated world whose clock runs `speed` times faster than the wall clock; the
engine runs here in LIVE mode on a clock that keeps the same world time: ten primary leaders
streamed by `userFills`, orders signed by the SDK (coincurve) and posted to the emulator's
`/exchange`. For every pushed message that leads to an order, the time from the message's
arrival (`PushedFills.received_ns`) to the first `/exchange` request being written is taken
(for a mirrored exit, its close: sent before the stop's cancel).
What is inside: parsing, dedupe, aggregation, the nine steps, the §E9 price (book), the
leader's state, the balance preflight, the ONE transaction that records the trade, signal
and intent, marking it SUBMITTED, signing, and the POST's bytes. Books and mids are pushed
by the venue (`l2Book`, `allMids`) and leaders' states kept in memory (read every 10 s), as
in `tailgate run --venue hyperliquid`; REST reads the copier still makes on the way are
counted (`reads_per_copy`): each is a round trip to the venue. The caches'
lifetimes (quotes 1 s, balance 5 s) are scaled by `speed`, so they last as long in wall time
as in production. The emulator shares this machine's cores: figures are pessimistic.

Figures (`METRIC <name> <value> <unit>`): leader_fill_to_order_us_p50, _p99, _max and
_count; reads_per_copy_p50.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tailgate.config import load_settings
from tailgate.engine.clock import WallClock
from tailgate.engine.locks import NonceSource
from tailgate.engine.runner import Engine
from tailgate.logs import configure_logging
from tailgate.store import Store
from tailgate.transport import HttpTransport
from tailgate.venues.hyperliquid.execution import HyperliquidGateway
from tailgate.venues.hyperliquid.info import HyperliquidInfo
from tailgate.venues.hyperliquid.keys import signer_from_private_key
from tailgate.venues.hyperliquid.leader_stream import HyperliquidLeaderStream
from tailgate.venues.hyperliquid.market_stream import HyperliquidMarketStream
from tailgate.venues.hyperliquid.orders import asset_indices
from tailgate.venues.hyperliquid.signing import Network, recover_signer
from tailgate.venues.sim import SimConfig, SimWorld

ME = "0x" + "ab" * 20
KEY = "0x" + "5a" * 32  # a throwaway key, known only to this benchmark and its emulator
LEADERS = 10


def world() -> SimWorld:
    leaders = {"n_swing": 14, "n_position": 2, "n_noise": 4, "n_hft": 2}
    return SimWorld(
        SimConfig(
            seed=31,
            history_days=25,
            forward_days=12,
            coins=("BTC", "ETH", "SOL"),
            n_overleveraged=2,
            n_tiny_win=1,
            **leaders,
        )
    )


def metric(name: str, value: float, unit: str) -> None:
    print(f"METRIC {name} {value:.6g} {unit}", flush=True)


# ---- the emulator, in its own process ----------------------------------------------------


def serve_child(origin_s: float, speed: float) -> None:
    from tailgate.venues.hyperliquid.emulator import EmulatedVenue, serve

    configure_logging("WARNING", "console")
    w = world()
    start = w.config.start_ms

    def now_ms() -> int:
        return start + int((time.time() - origin_s) * speed * 1000)

    emulated = EmulatedVenue(
        w, now_ms, verify=lambda body: recover_signer(body, network=Network.MAINNET)
    )
    emulated.register(ME, signer_from_private_key(KEY, ME).agent_address)

    async def main() -> None:
        runner, port = await serve(emulated, push_interval_s=0.002)
        print(json.dumps({"port": port}), flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    asyncio.run(main())


# ---- the engine, here --------------------------------------------------------------------


class Stamp(httpx.AsyncBaseTransport):
    """httpx's transport, noting when an `/exchange` request starts being written and how
    many `/info` reads a pushed message caused before it."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.engine: Engine | None = None
        self.latencies_us: list[int] = []
        self.reads: list[int] = []
        self._reads_of: dict[int, int] = {}
        self._done: set[int] = set()

    def _cause(self) -> int | None:
        streaming = self.engine.streaming if self.engine is not None else None
        return streaming.current_received_ns if streaming is not None else None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        cause = self._cause()
        if cause is not None:
            if request.url.path == "/exchange":
                if cause not in self._done:
                    self._done.add(cause)  # the message's first order only
                    self.latencies_us.append((time.perf_counter_ns() - cause) // 1000)
                    self.reads.append(self._reads_of.pop(cause, 0))
            else:
                self._reads_of[cause] = self._reads_of.get(cause, 0) + 1
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def run_engine(port: int, origin_s: float, speed: float, seconds: float, tmp: Path):
    w = world()
    start = w.config.start_ms
    clock = WallClock(start, origin_s, speed)  # the emulator's world time, here
    settings = load_settings(
        database_url=f"sqlite:///{tmp}/bench.db",
        workdir=tmp,
        mode="live",
        venue="hyperliquid",
        min_trades_required=10,
        copy_delay_minutes=0,
        primary_count=LEADERS,
        reconciliation_enabled=False,
        leader_refresh_interval_hours=10_000,
        # the loops of the engine, at speed × real time, must not crowd the measured path
        poll_interval_trades_sec=3600 * 6,
        monitor_interval_sec=3600,
        deferred_check_interval_sec=3600,
        stale_sweep_interval_sec=3600 * 6,
        checkpoint_interval_sec=3600 * 6,
        # caches live as long in wall time as in production (1 s quotes, 5 s balance read
        # ahead every 2.5 s, 1 s switches; leaders' states read every 10 s, used up to 30 s)
        quote_ttl_sec=1.0 * speed,
        balance_ttl_sec=5.0 * speed,
        leader_state_refresh_sec=10.0 * speed,
        leader_state_max_age_sec=30.0 * speed,
        guardrail_switch_cache_sec=1.0 * speed,
    )
    stamp = Stamp()
    http = HttpTransport(
        f"http://127.0.0.1:{port}", venue="hyperliquid", transport=stamp, timeout_s=5.0
    )
    store = Store.open(settings.resolved_database_url())
    signer = signer_from_private_key(KEY, ME)
    info = HyperliquidInfo(
        http, leaderboard_url=f"http://127.0.0.1:{port}/Mainnet/leaderboard", now_ms=clock.now_ms
    )
    meta = await info.info({"type": "meta"})
    markets = {m.coin: m for m in await info.markets()}
    gateway = HyperliquidGateway(
        http,
        info,
        signer,
        markets=markets,
        assets=asset_indices(meta),
        nonces=NonceSource(clock.now_ms),
        now_ms=clock.now_ms,
        leverage=None,  # the account's leverage as it is: every /exchange write is an order
    )
    ws_url = f"ws://127.0.0.1:{port}/ws"
    engine = Engine(
        settings,
        clock,
        feed=info,
        market=info,
        gateway=gateway,
        store=store,
        live_armed=True,
        stream=HyperliquidLeaderStream(ws_url, info, list(markets)),
        market_stream=HyperliquidMarketStream(ws_url),
    )
    stamp.engine = engine
    await engine.start()
    runner = asyncio.create_task(engine.run())
    await asyncio.sleep(seconds)
    engine.stop()
    await runner
    await http.aclose()
    store.close()
    return stamp.latencies_us, stamp.reads, engine


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--speed", type=float, default=10_000.0)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--origin", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_child(args.origin, args.speed)
        return 0
    origin = time.time() + 3.0  # both processes' world time starts here
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--origin", str(origin), "--speed", str(args.speed)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert child.stdout is not None
        port = json.loads(child.stdout.readline())["port"]
        with tempfile.TemporaryDirectory() as tmp:
            configure_logging(
                os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
                "json",
                Path(os.environ.get("BENCH_LOG", Path(tmp) / "engine.log")),
            )
            latencies, reads, engine = asyncio.run(
                run_engine(port, origin, args.speed, args.seconds, Path(tmp))
            )
    finally:
        child.terminate()
        child.wait(timeout=10)
    if not latencies:
        print("# no pushed fill led to an order: nothing to measure", flush=True)
        print(f"# engine: {engine.stats}", flush=True)
        if engine.streaming is not None:
            print(f"# stream: {engine.streaming.stats}", flush=True)
        return 1
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))]
    stream = engine.streaming.stats if engine.streaming else None
    print(
        f"# {len(latencies)} copies; pushed trades {stream.pushed_trades if stream else 0}, "
        f"gaps back-filled {stream.backfills if stream else 0}",
        flush=True,
    )
    metric("leader_fill_to_order_us_p50", statistics.median(latencies), "us")
    metric("leader_fill_to_order_us_p99", p99, "us")
    metric("leader_fill_to_order_us_max", latencies[-1], "us")
    metric("leader_fill_to_order_count", len(latencies), "copies")
    metric("reads_per_copy_p50", statistics.median(reads), "requests")
    return 0


if __name__ == "__main__":
    sys.exit(main())
