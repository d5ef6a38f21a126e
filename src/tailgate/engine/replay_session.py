"""Run the real engine over a replay of real history (SPEC §B1, §B4): `tailgate backtest
--fills PATH --prices DIR`. The same engine and runner as paper mode, on a simulated clock
clipped to the span the price bars cover."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tailgate.backtest.data import ImportReport
from tailgate.config import Settings
from tailgate.domain.models import MS_PER_DAY
from tailgate.engine.clock import SimClock
from tailgate.engine.runner import Engine
from tailgate.engine.sim_session import run_engine_on_clock
from tailgate.store import Store
from tailgate.venues.replay import ReplayData, ReplayVenue

__all__ = ["ReplaySession", "run_replay_session"]


@dataclass(slots=True)
class ReplaySession:
    settings: Settings
    data: ReplayData
    venue: ReplayVenue
    engine: Engine
    store: Store
    start_ms: int
    end_ms: int
    reports: list[ImportReport]
    wall_seconds: float = 0.0

    @property
    def simulated_days(self) -> float:
        return (self.end_ms - self.start_ms) / MS_PER_DAY


async def run_replay_session(
    settings: Settings,
    *,
    fills: Path,
    prices: Path,
    store: Store | None = None,
    progress: Callable[[float], None] | None = None,
) -> ReplaySession:
    """Replay the fills in `fills` against the bars in `prices`, over the bars' span."""
    data, reports = ReplayData.load(fills, prices)
    start_ms, end_ms = data.span_ms()
    store = store or Store.open(settings.resolved_database_url())
    clock = SimClock(start_ms, end_ms)
    venue = ReplayVenue(data, clock.now_ms, account_value=settings.paper_starting_balance_usd)
    engine, wall = await run_engine_on_clock(settings, clock, venue, store, progress=progress)
    return ReplaySession(
        settings, data, venue, engine, store, start_ms, clock.now_ms(), reports, wall
    )
