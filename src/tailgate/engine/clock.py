"""Clocks: the engine's loops sleep on a clock, so one runner serves every mode.

`WallClock` is real time. `SimClock` is virtual time for the simulator and backtests: the
engine's loops run as ordinary asyncio tasks, and when every loop is asleep the clock jumps
to the earliest wake-up and wakes exactly one loop. One loop runs at a time, in (time, order
of sleeping) order, so a simulated run is deterministic; `pace` slows it down to a multiple of
real time for watching it live.

Contract for loops: register with `clock.join()` when the task is created (not when it
starts), call `clock.leave()` when it ends, and await nothing but the clock between steps.
`sleep_until` returns False when the clock is stopping: the loop should finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import time
from typing import Protocol

__all__ = ["Clock", "SimClock", "WallClock"]


class Clock(Protocol):
    def now_ms(self) -> int: ...

    async def sleep_until(self, t_ms: int) -> bool: ...

    def join(self) -> None: ...

    def leave(self) -> None: ...

    def stop(self) -> None: ...

    @property
    def stopping(self) -> bool: ...

    @property
    def realtime(self) -> bool:
        """True when time passes while the engine works (the wall clock, sped up or not): work
        done ahead then saves a copy that time. A simulated clock stands still meanwhile."""
        ...

    async def drive(self) -> None:
        """Runs alongside the loops until the clock stops."""
        ...


class WallClock:
    """Real time; or, given `start_ms`, `origin_s` and `speed`, time that runs `speed` times
    faster than the wall clock and reads `start_ms` at wall time `origin_s` — the clock of
    the loopback emulator serving a simulated world at that speed (`tailgate sim serve
    --speed`), so an engine on the wall clock can trade on it."""

    def __init__(
        self, start_ms: int | None = None, origin_s: float | None = None, speed: float = 1.0
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self._stop = asyncio.Event()
        self._speed = speed
        self._origin_s = time.time() if origin_s is None else origin_s
        self._start_ms = start_ms

    def now_ms(self) -> int:
        if self._start_ms is None:
            return time.time_ns() // 1_000_000
        return self._start_ms + int((time.time() - self._origin_s) * self._speed * 1000)

    async def sleep_until(self, t_ms: int) -> bool:
        delay = (t_ms - self.now_ms()) / 1000 / self._speed
        if self._stop.is_set():
            return False
        if delay <= 0:
            return True
        try:
            await asyncio.wait_for(self._stop.wait(), timeout=delay)
        except TimeoutError:
            return True
        return False

    def join(self) -> None:
        pass

    def leave(self) -> None:
        pass

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def realtime(self) -> bool:
        return True

    async def drive(self) -> None:
        await self._stop.wait()


class SimClock:
    """Virtual time from `start_ms`; stops by itself once the next wake-up is past `end_ms`."""

    def __init__(self, start_ms: int, end_ms: int | None = None, pace: float | None = None) -> None:
        if pace is not None and pace <= 0:
            raise ValueError("pace must be > 0 (simulated seconds per real second)")
        self._now = start_ms
        self.start_ms = start_ms
        self.end_ms = end_ms
        self._pace = pace
        self._sleepers: list[tuple[int, int, asyncio.Future[bool]]] = []
        self._seq = 0
        self._awake = 0
        self._quiet = asyncio.Event()
        self._stopping = False
        self._stop_event = asyncio.Event()
        self.wakeups = 0

    def now_ms(self) -> int:
        return self._now

    def join(self) -> None:
        self._awake += 1
        self._quiet.clear()

    def leave(self) -> None:
        self._awake -= 1
        if self._awake <= 0:
            self._quiet.set()

    async def sleep_until(self, t_ms: int) -> bool:
        if self._stopping:
            return False
        fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._seq += 1
        heapq.heappush(self._sleepers, (max(t_ms, self._now), self._seq, fut))
        self.leave()
        return await fut  # the driver re-counts us as awake before waking us

    def stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        self._stop_event.set()
        while self._sleepers:
            _, _, fut = heapq.heappop(self._sleepers)
            if not fut.done():
                self.join()
                fut.set_result(False)

    @property
    def stopping(self) -> bool:
        return self._stopping

    @property
    def realtime(self) -> bool:
        return False  # (even paced: time moves only between the loops' steps)

    async def drive(self) -> None:
        while not self._stopping:
            await self._quiet.wait()
            if self._stopping:
                return
            if not self._sleepers:
                if self._awake <= 0:
                    self.stop()  # every loop has finished
                    return
                self._quiet.clear()
                continue
            t, _, fut = self._sleepers[0]
            if self.end_ms is not None and t > self.end_ms:
                self._now = self.end_ms
                self.stop()
                return
            if self._pace is not None and t > self._now:
                # Wait in real time with the sleeper still queued: a stop arriving meanwhile
                # (a signal) must find it and wake it, or its loop would wait forever.
                real_wait = (t - self._now) / 1000 / self._pace
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop_event.wait(), timeout=real_wait)
                if self._stopping:  # a stop during the wait (even one racing its timeout)
                    return  # stop() woke every sleeper and emptied the queue
            heapq.heappop(self._sleepers)
            self._now = t
            self.wakeups += 1
            self.join()
            fut.set_result(True)
