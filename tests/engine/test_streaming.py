"""The engine with a leader stream, in process: the first connection's gap is back-filled
before pushed fills are taken, pushed and polled fills are copied once, the poll is skipped
while the stream covers the leaders (but for the safety net) and runs while it does not, and
a pushed trade whose handling fails is taken again by the next poll."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Collection

import pytest

from tailgate.config import load_settings
from tailgate.engine.clock import SimClock, WallClock
from tailgate.engine.runner import Engine
from tailgate.store import Store
from tailgate.venues.protocols import FillPage, LeaderStreamEvent, PushedFills, StreamGap
from tailgate.venues.sim import SimConfig, SimVenue, SimWorld

HOURS = 36
PUSH_EVERY_MS = 60_000
CONFIG = SimConfig(
    seed=21, history_days=25, forward_days=3, coins=("BTC", "ETH", "SOL"),
    n_swing=10, n_position=3, n_noise=5, n_hft=2, n_overleveraged=2, n_tiny_win=1,
)  # fmt: skip


HANDLING_PUSHED: contextvars.ContextVar[bool] = contextvars.ContextVar("pushed", default=False)


class SimStream:
    """A `LeaderFillStream` fed from the simulator: every minute of simulated time, the
    followed leaders' new fills are pushed; `healthy` is the test's to set."""

    def __init__(self, venue: SimVenue, clock: SimClock, *, healthy: bool = True) -> None:
        self._venue, self._clock = venue, clock
        self._queue: asyncio.Queue[LeaderStreamEvent] = asyncio.Queue()
        self.followed: tuple[str, ...] = ()
        self.healthy = healthy
        self._sent_ms = 0

    async def follow(self, leaders: Collection[str]) -> None:
        wanted = tuple(sorted(leaders))
        if wanted != self.followed:
            self.followed = wanted
            self._sent_ms = self._clock.now_ms()
            self._queue.put_nowait(StreamGap(wanted))  # a new connection

    def events(self) -> AsyncIterator[LeaderStreamEvent]:
        async def gen() -> AsyncIterator[LeaderStreamEvent]:
            while True:
                yield await self._queue.get()

        return gen()

    async def close(self) -> None:
        pass

    async def push(self, now_ms: int) -> None:
        fills = []
        for leader in self.followed:
            page = await self._venue.leader_fills(leader, self._sent_ms + 1, now_ms + 1)
            fills.extend(page.fills)
        self._sent_ms = now_ms
        if fills:
            self._queue.put_nowait(PushedFills(FillPage(fills), 1))


def _run(
    tmp_path,
    name: str,
    *,
    stream: bool,
    healthy: bool = True,
    fail_pushed: int = 0,
    push_every_ms: int = PUSH_EVERY_MS,
    reads: list[str] | None = None,
) -> tuple[Engine, list]:
    """`fail_pushed`: the venue fails this many leader-state reads made for pushed trades;
    `reads`: collects the leaders whose state was read for a pushed trade."""
    world = SimWorld(CONFIG)
    start = world.config.start_ms
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path}/{name}.db",
        workdir=tmp_path,
        min_trades_required=10,
        copy_delay_minutes=0,
        primary_count=8,
        reconciliation_enabled=False,
        leader_refresh_interval_hours=1000,
    )

    async def go() -> tuple[Engine, list]:
        clock = SimClock(start, start + HOURS * 3_600_000)
        venue = SimVenue(world, clock.now_ms)
        fake = SimStream(venue, clock, healthy=healthy) if stream else None
        store = Store.open(settings.resolved_database_url())
        engine = Engine(
            settings, clock, feed=venue, market=venue, gateway=venue, store=store, stream=fake
        )
        read_state = venue.leader_state
        failures = [fail_pushed]

        async def flaky_state(leader: str):
            pushed = engine.streaming is not None and engine.streaming.current_received_ns
            if reads is not None and HANDLING_PUSHED.get():
                reads.append(leader)
            if failures[0] > 0 and pushed:
                failures[0] -= 1
                raise ConnectionError("the venue went away mid-copy")
            return await read_state(leader)

        venue.leader_state = flaky_state  # type: ignore[method-assign]
        await engine.start()
        ingest_pushed = engine.copier.ingest_pushed

        async def marked(page: FillPage, now_ms: int):  # what runs for a push, tasks included
            token = HANDLING_PUSHED.set(True)
            try:
                return await ingest_pushed(page, now_ms)
            finally:
                HANDLING_PUSHED.reset(token)

        engine.copier.ingest_pushed = marked  # type: ignore[method-assign]

        async def pusher(now: int) -> None:
            if fake is not None:
                await fake.push(now)
                await asyncio.sleep(0)  # let the consumer take it before time moves on

        def observe(now: int) -> None:
            asyncio.get_running_loop().create_task(pusher(now))

        await engine.run([(push_every_ms, observe)])
        trades = sorted(t.key for t in store.load_leader_trades())
        store.close()
        return engine, trades

    return asyncio.run(go())


@pytest.fixture(scope="module")
def polled(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("polled"), "polled", stream=False)


def test_a_covering_stream_copies_what_polling_copies_and_skips_the_polls(tmp_path, polled):
    _, polled_trades = polled
    engine, trades = _run(tmp_path, "streamed", stream=True)
    assert engine.streaming is not None
    stats = engine.streaming.stats
    assert len(polled_trades) >= 10
    assert trades == polled_trades  # the same trades, each once
    assert stats.backfills >= 1  # the first connection's gap, read before any push
    assert stats.pushed_trades > 0
    assert engine.stats.polls_skipped > 0  # covered: only the hourly safety poll ran
    assert engine.stats.ingestion_cycles <= HOURS + 2
    # the switches are read ahead only where time passes while the engine works
    assert {"leader_states"} <= {name for name, *_ in engine.loops()}
    assert "switches" not in {name for name, *_ in engine.loops()}  # simulated: no gain
    engine.clock = WallClock(engine.clock.now_ms())
    switches = [loop for loop in engine.loops() if loop[0] == "switches"]
    assert [interval for _, interval, *_ in switches] == [500]  # half the 1 s cache
    (_, _, read_ahead, _), now = switches[0], engine.clock.now_ms()
    asyncio.run(read_ahead(now))  # every desk's switches, read at once
    assert engine.guardrails.switches(now) == (False, False)


def test_an_unhealthy_stream_leaves_polling_on(tmp_path, polled):
    _, polled_trades = polled
    engine, trades = _run(tmp_path, "unhealthy", stream=True, healthy=False)
    assert trades == polled_trades
    assert engine.stats.polls_skipped == 0


def test_a_pushed_trade_that_fails_is_copied_by_the_next_poll(tmp_path, polled):
    _, polled_trades = polled
    engine, trades = _run(tmp_path, "flaky", stream=True, fail_pushed=3)
    assert engine.streaming is not None and engine.streaming.stats.errors >= 1
    assert trades == polled_trades  # nothing lost: the failed fills were not kept as seen


def test_fresh_pushed_trades_are_judged_on_leaders_states_kept_in_memory(tmp_path, polled):
    _, polled_trades = polled
    reads: list[str] = []
    engine, trades = _run(tmp_path, "kept", stream=True, push_every_ms=5_000, reads=reads)
    memory = engine.leader_states
    assert memory is not None
    assert trades == polled_trades
    assert memory.served > 0  # entries copied from memory: no read on their path
    assert len(reads) <= memory.missed  # a read only where memory could not say
    assert len(reads) < memory.served
