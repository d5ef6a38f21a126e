"""Scoped mutexes and nonces (SPEC §E6): serial per signer, parallel across signers."""

from __future__ import annotations

import asyncio
from itertools import pairwise

import pytest

from tailgate.engine.locks import NonceSource, ScopedLocks


class FakeClock:
    def __init__(self, t: int = 1_700_000_000_000) -> None:
        self.t = t

    def now_ms(self) -> int:
        return self.t


def max_overlap(events: list[tuple[str, str]], signers: set[str] | None = None) -> int:
    """Most critical sections open at once among `signers` (all when None)."""
    inside = peak = 0
    for kind, signer in events:
        if signers is not None and signer not in signers:
            continue
        inside += 1 if kind == "enter" else -1
        peak = max(peak, inside)
    return peak


async def critical_section(locks: ScopedLocks, signer: str, events: list[tuple[str, str]]):
    async with locks.hold("signer", signer):
        events.append(("enter", signer))
        for _ in range(3):
            await asyncio.sleep(0)  # yield inside: anyone allowed in gets in now
        events.append(("exit", signer))


def test_one_signer_is_serial_and_two_signers_overlap():
    async def scenario():
        locks = ScopedLocks()
        events: list[tuple[str, str]] = []
        async with asyncio.TaskGroup() as tg:
            for _ in range(20):
                for signer in ("0xaaa", "0xbbb"):
                    tg.create_task(critical_section(locks, signer, events))
        assert len(events) == 80
        assert max_overlap(events, {"0xaaa"}) == 1
        assert max_overlap(events, {"0xbbb"}) == 1
        assert max_overlap(events) == 2  # the signers ran in parallel
        # every section of one signer exits before the next one enters
        for signer in ("0xaaa", "0xbbb"):
            kinds = [k for k, s in events if s == signer]
            assert kinds == ["enter", "exit"] * 20
        assert len(locks) == 0
        assert (locks.acquired, locks.contended) == (40, 38)

    asyncio.run(scenario())


def test_scopes_are_separate_lock_spaces():
    async def scenario():
        locks = ScopedLocks()
        async with locks.hold("signer", "0xaaa"):
            assert locks.locked("signer", "0xaaa")
            assert not locks.locked("wallet", "0xaaa")
            async with locks.hold("wallet", "0xaaa"):  # would deadlock if scopes were shared
                assert len(locks) == 2
        assert len(locks) == 0

    asyncio.run(scenario())


def test_an_error_inside_releases_the_lock_and_drops_it():
    async def scenario():
        locks = ScopedLocks()
        with pytest.raises(RuntimeError):
            async with locks.hold("signer", "0xaaa"):
                raise RuntimeError("venue said no")
        assert len(locks) == 0
        async with locks.hold("signer", "0xaaa"):
            pass

    asyncio.run(scenario())


def test_a_cancelled_waiter_leaves_nothing_behind():
    async def scenario():
        locks = ScopedLocks()
        release = asyncio.Event()

        async def holder():
            async with locks.hold("signer", "0xaaa"):
                await release.wait()

        async def waiter():
            async with locks.hold("signer", "0xaaa"):
                pass

        h = asyncio.ensure_future(holder())
        await asyncio.sleep(0)
        w = asyncio.ensure_future(waiter())
        await asyncio.sleep(0)
        assert len(locks) == 1
        w.cancel()
        await asyncio.sleep(0)
        release.set()
        await h
        assert w.cancelled()
        assert len(locks) == 0

    asyncio.run(scenario())


def test_nonces_strictly_increase_per_signer_under_1000_concurrent_requests():
    async def scenario():
        clock = FakeClock()
        locks = ScopedLocks()
        nonces = NonceSource(clock.now_ms)
        issued: dict[str, list[int]] = {"0xaaa": [], "0xbbb": [], "0xccc": []}
        signers = list(issued)

        async def send(i: int) -> None:
            signer = signers[i % len(signers)]
            async with locks.hold("signer", signer):
                issued[signer].append(nonces.next(signer))
                await asyncio.sleep(0)  # "sign and send"
                if i % 7 == 0:
                    clock.t += 1  # the clock ticks now and then, far slower than the orders
                if i % 97 == 0:
                    clock.t -= 5  # ... and steps back now and then

        await asyncio.gather(*(send(i) for i in range(1_000)))
        for got in issued.values():
            assert all(a < b for a, b in pairwise(got))
        assert sum(len(v) for v in issued.values()) == 1_000
        assert nonces.issued == 1_000
        assert nonces.ahead_of_clock > 0
        assert len(locks) == 0

    asyncio.run(scenario())


def test_nonces_are_unique_and_increasing_even_without_the_lock():
    async def scenario():
        clock = FakeClock()
        nonces = NonceSource(clock.now_ms)
        issued: list[int] = []

        async def ask(i: int) -> None:
            for _ in range(i % 3):
                await asyncio.sleep(0)  # requests interleave in a scrambled order
            issued.append(nonces.next("0xaaa"))
            if i % 11 == 0:
                clock.t += 1

        await asyncio.gather(*(ask(i) for i in range(1_000)))
        assert len(issued) == len(set(issued)) == 1_000
        assert all(a < b for a, b in pairwise(issued))

    asyncio.run(scenario())


def test_nonces_follow_the_clock_when_it_is_ahead():
    clock = FakeClock(1_000)
    nonces = NonceSource(clock.now_ms)
    assert [nonces.next("a"), nonces.next("a"), nonces.next("a")] == [1_000, 1_001, 1_002]
    clock.t = 5_000
    assert nonces.next("a") == 5_000
    assert nonces.next("b") == 5_000  # signers are independent
    assert (nonces.last("a"), nonces.last("c")) == (5_000, None)
    assert (nonces.issued, nonces.ahead_of_clock) == (5, 2)


def test_a_restart_continues_above_the_persisted_nonce():
    clock = FakeClock(1_000)
    nonces = NonceSource(clock.now_ms, floors={"a": 2_000})
    assert nonces.next("a") == 2_001
    nonces.advance_past("b", 3_000)
    nonces.advance_past("b", 10)  # never lowers the floor
    assert nonces.next("b") == 3_001
    assert nonces.next("c") == 1_000
