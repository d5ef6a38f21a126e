"""The simulated clock drives ordinary asyncio loops deterministically in virtual time."""

import asyncio

from tailgate.engine.clock import SimClock, WallClock


async def _loop(clock, name, interval, log, steps=None):
    try:
        t = clock.now_ms()
        n = 0
        while steps is None or n < steps:
            log.append((clock.now_ms(), name))
            n += 1
            t += interval
            if not await clock.sleep_until(t):
                return
    finally:
        clock.leave()


async def _run(clock, specs):
    log = []
    async with asyncio.TaskGroup() as tg:
        for name, interval, steps in specs:
            clock.join()
            tg.create_task(_loop(clock, name, interval, log, steps))
        tg.create_task(clock.drive())
    return log


def test_loops_interleave_in_virtual_time_order():
    clock = SimClock(start_ms=0, end_ms=10_000)
    log = asyncio.run(_run(clock, [("fast", 3_000, None), ("slow", 5_000, None)]))
    assert log == [
        (0, "fast"),
        (0, "slow"),
        (3_000, "fast"),
        (5_000, "slow"),
        (6_000, "fast"),
        (9_000, "fast"),
        (10_000, "slow"),
    ]
    assert clock.now_ms() == 10_000


def test_runs_are_identical_and_fast():
    a = asyncio.run(_run(SimClock(0, 86_400_000), [("a", 60_000, None), ("b", 300_000, None)]))
    b = asyncio.run(_run(SimClock(0, 86_400_000), [("a", 60_000, None), ("b", 300_000, None)]))
    assert a == b
    assert len(a) == 1441 + 289


def test_clock_stops_when_every_loop_has_finished():
    clock = SimClock(start_ms=0)
    log = asyncio.run(_run(clock, [("once", 1_000, 3)]))
    assert [t for t, _ in log] == [0, 1_000, 2_000]
    assert clock.stopping


def test_stop_wakes_sleepers_with_false():
    async def main():
        clock = SimClock(start_ms=0, end_ms=None)
        results = []

        async def sleeper():
            try:
                results.append(await clock.sleep_until(10**12))
            finally:
                clock.leave()

        async def stopper():
            try:
                await clock.sleep_until(5)
                clock.stop()
            finally:
                clock.leave()

        async with asyncio.TaskGroup() as tg:
            clock.join()
            tg.create_task(sleeper())
            clock.join()
            tg.create_task(stopper())
            tg.create_task(clock.drive())
        return results

    assert asyncio.run(main()) == [False]


def test_wall_clock_sleep_is_interrupted_by_stop():
    async def main():
        clock = WallClock()
        asyncio.get_running_loop().call_later(0.05, clock.stop)
        return await clock.sleep_until(clock.now_ms() + 60_000)

    assert asyncio.run(main()) is False


def test_stop_while_pacing_in_real_time_still_wakes_the_next_sleeper():
    """A signal arriving while a paced clock waits in real time must not strand a loop."""

    async def main():
        clock = SimClock(start_ms=0, pace=1.0)  # one simulated second per real second
        results = []

        async def sleeper():
            try:
                results.append(await clock.sleep_until(60_000))  # a real minute away
            finally:
                clock.leave()

        asyncio.get_running_loop().call_later(0.05, clock.stop)  # e.g. SIGTERM
        async with asyncio.timeout(5):
            async with asyncio.TaskGroup() as tg:
                clock.join()
                tg.create_task(sleeper())
                tg.create_task(clock.drive())
        return results

    assert asyncio.run(main()) == [False]


def test_a_stop_that_races_the_pacing_timeout_ends_the_driver_cleanly(monkeypatch):
    """The stop lands in the same loop iteration as the pacing wait's timeout: `wait_for`
    reports a timeout although the clock was stopped (and its queue emptied) meanwhile."""
    import tailgate.engine.clock as clock_module

    clock = None

    async def racing_wait_for(awaitable, timeout):
        awaitable.close()
        clock.stop()
        raise TimeoutError

    monkeypatch.setattr(clock_module.asyncio, "wait_for", racing_wait_for)

    async def main():
        nonlocal clock
        clock = SimClock(start_ms=0, pace=1.0)
        results = []

        async def sleeper():
            try:
                results.append(await clock.sleep_until(1_000))
            finally:
                clock.leave()

        async with asyncio.TaskGroup() as tg:
            clock.join()
            tg.create_task(sleeper())
            tg.create_task(clock.drive())
        return results

    assert asyncio.run(main()) == [False]


def test_a_fast_wall_clock_keeps_the_emulators_world_time():
    """`WallClock(start, origin, speed)`: world time that reads `start` at wall time `origin`
    and runs `speed` times faster — a sleep of 60 world seconds at 6000x takes 10 ms."""
    import time

    origin = time.time()
    clock = WallClock(start_ms=1_000_000, origin_s=origin, speed=6000.0)

    async def main() -> tuple[int, bool, float]:
        began = time.perf_counter()
        woke = await clock.sleep_until(clock.now_ms() + 60_000)
        return clock.now_ms(), woke, time.perf_counter() - began

    now, woke, took = asyncio.run(main())
    assert woke and 0.005 <= took < 0.5
    assert now >= 1_000_000 + 60_000
    assert abs(WallClock(5, origin, 1.0).now_ms() - 5 - (time.time() - origin) * 1000) < 50
