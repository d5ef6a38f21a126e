"""Pushed leader fills into the copier (SPEC §C2 with a `LeaderFillStream`).

The stream makes copying as fast as the venue can tell us. Each `StreamGap` — every
(re)connection — is back-filled over REST before the messages after it are taken, so nothing
that happened while the socket was down is skipped. While the stream *covers* the leaders
(healthy, and its last gap back-filled without error) the engine's poll every POLL_INTERVAL
is skipped, but for a safety-net poll every `stream_safety_poll_minutes` (it reads from
where the last poll stopped, at most a day back); when the
stream is down or quiet, or a back-fill or a pushed trade failed, polling takes over until
the stream covers again (§R2: fall back to polling, return to streaming). A fill both paths
see is copied once: the ingestor's durable dedupe. The followed set tracks the copier's
(primary leaders, and those whose trade we still hold).

An event is handled while holding the simulated clock (`join`/`leave`), so simulated time does
not move under it; on the wall clock that is a no-op.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from tailgate.engine.clock import Clock
from tailgate.engine.copier import Copier
from tailgate.logs import get_logger
from tailgate.venues.protocols import LeaderFillStream, PushedFills, StreamGap

__all__ = ["StreamIngestion", "StreamStats"]

log = get_logger("tailgate.streaming")


@dataclass(slots=True)
class StreamStats:
    pushed_events: int = 0
    pushed_trades: int = 0  # new trades first seen on the stream
    backfills: int = 0
    backfill_trades: int = 0  # new trades a gap's REST read found
    errors: int = 0


class StreamIngestion:
    def __init__(self, stream: LeaderFillStream, copier: Copier, clock: Clock) -> None:
        self.stream = stream
        self._copier = copier
        self._clock = clock
        self.stats = StreamStats()
        # the arrival time of the pushed message being handled now (None: none): what an
        # order sent meanwhile was caused by, for latency measurements
        self.current_received_ns: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._uncovered = True  # until the first connection's gap is back-filled

    @property
    def covering(self) -> bool:
        """The stream alone sees every fill of the followed leaders now."""
        return self.stream.healthy and not self._uncovered

    def covered(self) -> None:
        """A poll of every followed leader just succeeded: whatever the stream missed is in."""
        self._uncovered = False

    async def follow(self) -> None:
        """Stream the leaders the copier polls (re-subscribes only when they changed)."""
        await self.stream.follow(self._copier.leaders_to_poll())

    async def start(self) -> None:
        await self.follow()
        self._task = asyncio.create_task(self._run(), name="leader-stream")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self.stream.close()

    async def _run(self) -> None:
        async for event in self.stream.events():
            if self._clock.stopping:
                return
            self._clock.join()
            try:
                await self._handle(event)
            except Exception:  # polling takes over until a back-fill succeeds
                self._uncovered = True
                self.stats.errors += 1
                log.exception("stream_event_failed", kind=type(event).__name__)
            finally:
                self.current_received_ns = None
                self._clock.leave()
            try:
                await self.follow()  # our positions may have changed whom we watch
            except Exception:
                log.exception("stream_follow_failed")

    async def _handle(self, event: PushedFills | StreamGap) -> None:
        now = self._clock.now_ms()
        if isinstance(event, StreamGap):
            self._uncovered = True
            result = await self._copier.backfill(event.leaders, now)
            self._uncovered = not result.complete
            self.stats.backfills += 1
            self.stats.backfill_trades += len(result.trades)
            if result.trades:
                log.info("stream_gap_backfilled", trades=len(result.trades))
            return
        self.current_received_ns = event.received_ns
        result = await self._copier.ingest_pushed(event.page, now)
        self.stats.pushed_events += 1
        self.stats.pushed_trades += len(result.trades)
