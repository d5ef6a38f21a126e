"""Run the real engine against the embedded simulator over a simulated clock.

Used by `tailgate demo`, `tailgate run --venue sim`, the integration tests and the benchmarks:
one way to assemble world, clock, venue, store and engine, so they all exercise the same code.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from tailgate.config import Settings
from tailgate.domain.followers import Follower
from tailgate.domain.models import MS_PER_DAY, MS_PER_HOUR
from tailgate.engine.clock import SimClock
from tailgate.engine.runner import Engine, FollowerVenue, Observer
from tailgate.store import Store
from tailgate.store.records import PositionStatus
from tailgate.venues.protocols import AccountState, OrderGateway, Venue, VenuePosition
from tailgate.venues.sim import SimConfig, SimVenue, SimWorld

__all__ = [
    "PaperVenue",
    "SimSession",
    "build_world",
    "restore_paper_account",
    "run_engine_on_clock",
    "run_sim_session",
]


class PaperVenue(Protocol):
    def restore_account(self, cash: float, positions: Iterable[VenuePosition]) -> None: ...


@dataclass(slots=True)
class SimSession:
    settings: Settings
    world: SimWorld
    venue: SimVenue
    engine: Engine
    store: Store
    start_ms: int
    end_ms: int
    wall_seconds: float = 0.0
    follower_venues: dict[str, SimVenue] = field(default_factory=dict)

    @property
    def simulated_days(self) -> float:
        return (self.end_ms - self.start_ms) / MS_PER_DAY


def build_world(settings: Settings, days: float) -> SimWorld:
    config = SimConfig(
        seed=settings.sim_seed,
        forward_days=int(days) + 2,
        malformed_fill_rate=settings.sim_malformed_fill_rate,
    )
    return SimWorld(config)


def restore_paper_account(venue: PaperVenue, store: Store, account: str) -> None:
    """A fresh paper venue (the simulator, or paper fills on a real feed) in a restarted
    process learns our paper account from the store."""
    positions = store.load_positions(status=PositionStatus.OPEN, account=account)
    if not positions and store.get_state("clock_ms") is None:
        return  # nothing to restore: a first run
    venue.restore_account(
        store.get_cash(account),
        [VenuePosition(p.coin, p.side, p.size, p.entry_price) for p in positions],
    )


class SimFollowerVenues:
    """Each follower's own account at the simulator (same world, same clock): its gateway
    and account state, like a follower's own signer at a real venue. With `state_dir` each
    persists in its own file, like the house's persistent venue."""

    def __init__(
        self,
        world: SimWorld,
        now_ms: Callable[[], int],
        store: Store,
        *,
        resume: bool,
        state_path: Path | None = None,
    ) -> None:
        self._world = world
        self._now_ms = now_ms
        self._store = store
        self._resume = resume
        self._state_path = state_path
        self.venues: dict[str, SimVenue] = {}

    def __call__(self, follower: Follower) -> tuple[OrderGateway, AccountState | None]:
        path = None
        if self._state_path is not None:
            path = self._state_path.with_name(
                f"{self._state_path.stem}.{follower.account}{self._state_path.suffix}"
            )
        venue = SimVenue(
            self._world, self._now_ms, account_value=follower.capital_usd, state_path=path
        )
        if path is None and self._resume:
            restore_paper_account(venue, self._store, follower.account)
        self.venues[follower.account] = venue
        return venue, venue

    def close(self) -> None:
        for venue in self.venues.values():
            if venue.state_path is not None:
                venue.close()


async def run_sim_session(
    settings: Settings,
    *,
    days: float,
    world: SimWorld | None = None,
    store: Store | None = None,
    resume: bool = False,
    pace: float | None = None,
    gateway: OrderGateway | None = None,
    venue: SimVenue | None = None,
    venue_state: Path | None = None,
    until_ms: int | None = None,
    progress: Callable[[float], None] | None = None,
) -> SimSession:
    """Run the engine on the simulator for `days` simulated days (or until `until_ms`).

    With `resume`, start where the store's last run stopped (its `clock_ms` checkpoint), as a
    restarted process would. `gateway` wraps the venue's order gateway (fault injection in
    tests); `venue` reuses a venue that "survived" a crash of ours.

    `venue_state` makes the venue persistent: it lives in that file like a real exchange that
    outlives our process (a SIGKILL included), is the account's truth (never restored from
    the store) and is closed at the end. Its time never goes back: the run starts no earlier
    than the venue's last commit — after a SIGKILL there is no `clock_ms` checkpoint, and the
    venue's time is the only record of how far the killed run got. `until_ms` is an absolute
    simulated end, so that every restart of one run keeps the same end; `days` then only
    sizes the world (give every restart the same `days`: the state file names its world).
    """
    if venue is not None and venue_state is not None:
        raise ValueError("give run_sim_session a venue or a venue_state, not both")
    world = world or build_world(settings, days)
    store = store or Store.open(settings.resolved_database_url())
    start_ms = world.config.start_ms
    if resume:
        start_ms = int(store.get_state("clock_ms") or start_ms)
    persistent: SimVenue | None = None
    followers: SimFollowerVenues | None = None
    if venue_state is not None:
        persistent = SimVenue(
            world,
            lambda: start_ms,  # replaced by the clock's below
            account_value=settings.paper_starting_balance_usd,
            state_path=venue_state,
        )
        start_ms = max(start_ms, persistent.last_time_ms or start_ms)
    try:
        end_ms = start_ms + int(days * MS_PER_DAY) if until_ms is None else max(until_ms, start_ms)
        clock = SimClock(start_ms, end_ms, pace=pace)
        if persistent is not None:
            venue = persistent
            venue.now_ms = clock.now_ms
        elif venue is None:
            venue = SimVenue(world, clock.now_ms, account_value=settings.paper_starting_balance_usd)
            if resume:
                restore_paper_account(venue, store, settings.paper_account)
        else:
            venue.now_ms = clock.now_ms
        followers = SimFollowerVenues(
            world, clock.now_ms, store, resume=resume, state_path=venue_state
        )
        engine, wall_seconds = await run_engine_on_clock(
            settings,
            clock,
            venue,
            store,
            gateway=gateway,
            progress=progress,
            follower_venue=followers,
        )
    finally:
        if persistent is not None:
            persistent.close()
        if followers is not None:
            followers.close()
    session = SimSession(settings, world, venue, engine, store, start_ms, clock.now_ms())
    session.wall_seconds = wall_seconds
    session.follower_venues = followers.venues if followers is not None else {}
    return session


async def run_engine_on_clock(
    settings: Settings,
    clock: SimClock,
    venue: Venue,
    store: Store,
    *,
    gateway: OrderGateway | None = None,
    progress: Callable[[float], None] | None = None,
    follower_venue: FollowerVenue | None = None,
) -> tuple[Engine, float]:
    """The engine over `venue` (which implements every protocol) from the clock's start to its
    end; returns it and the wall time taken. Any venue: the simulator, a replay of real data."""
    engine = Engine(
        settings,
        clock,
        feed=venue,
        market=venue,
        gateway=gateway or venue,
        store=store,
        follower_venue=follower_venue,
    )
    began = time.perf_counter()
    await engine.start()
    observers: list[Observer] = []
    if progress is not None and clock.end_ms is not None:  # every simulated hour
        start_ms, span = clock.start_ms, max(clock.end_ms - clock.start_ms, 1)
        observers.append((MS_PER_HOUR, lambda t: progress((t - start_ms) / span)))
    await engine.run(observers)
    return engine, time.perf_counter() - began
