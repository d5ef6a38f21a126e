"""Run the engine on Hyperliquid's feed (the real venue, or the loopback emulator) in paper mode.

Leaders, their fills, books and mids come over HTTP through the adapter (`HyperliquidInfo`)
and the shared resilient transport; our orders are filled against the live book by the paper
gateway and never sent. Live trading through `HyperliquidGateway` is not wired here yet.
"""

from __future__ import annotations

from tailgate.config import Settings
from tailgate.engine.clock import Clock
from tailgate.engine.runner import Engine
from tailgate.engine.sim_session import restore_paper_account
from tailgate.store import Store
from tailgate.transport import HttpTransport, RetryPolicy, WeightedLimiter, hyperliquid_limits
from tailgate.venues.hyperliquid.info import LEADERBOARD_URL, HyperliquidInfo
from tailgate.venues.hyperliquid.signing import Network
from tailgate.venues.paper_gateway import PaperGateway

__all__ = ["run_hyperliquid_paper"]


async def run_hyperliquid_paper(
    settings: Settings,
    clock: Clock,
    store: Store,
    *,
    base_url: str = Network.MAINNET.base_url,
    leaderboard_url: str = LEADERBOARD_URL,
    retry: RetryPolicy | None = None,
    timeout_s: float = 10.0,
    resume: bool = True,
    rate_limited: bool = True,
) -> Engine:
    """Start the engine on the feed at `base_url` and run it until the clock stops.

    `rate_limited=False` drops the venue's per-IP budget (1,200 weight a minute of wall time):
    only for the loopback emulator, whose simulated clock runs far faster than the budget
    allows — against the real venue the budget is what keeps us from being banned."""
    limits = hyperliquid_limits()
    http = HttpTransport(
        base_url,
        venue="hyperliquid",
        limiter=WeightedLimiter(limits.rest) if rate_limited else None,
        retry=retry,
        timeout_s=timeout_s,
    )
    try:
        info = HyperliquidInfo(
            http, leaderboard_url=leaderboard_url, weights=limits.info, now_ms=clock.now_ms
        )
        markets = {m.coin: m for m in await info.markets()}
        paper = PaperGateway(
            info, markets, clock.now_ms, starting_cash=settings.paper_starting_balance_usd
        )
        if resume:
            restore_paper_account(paper, store, settings.paper_account)
        engine = Engine(
            settings, clock, feed=info, market=info, gateway=paper, store=store, account=paper
        )
        await engine.start()
        await engine.run()
        return engine
    finally:
        await http.aclose()
