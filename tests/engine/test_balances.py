"""Preflight balance cache (SPEC §E8): single-flight, TTL on the clock, invalidated by our fills."""

from __future__ import annotations

import asyncio
import math

import pytest

from tailgate.domain.reasons import ReasonCode
from tailgate.engine.balances import BalanceCache, preflight, required_margin
from tailgate.venues.protocols import AccountSnapshot

TTL = 2_000
INSUFFICIENT = ReasonCode.INSUFFICIENT_BALANCE


class FakeClock:
    def __init__(self) -> None:
        self.t = 5_000_000

    def now_ms(self) -> int:
        return self.t


class FakeAccount:
    """An AccountState that counts calls; while `gate` is clear, fetches wait at the venue."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.gate = asyncio.Event()
        self.gate.set()
        self.entered = asyncio.Event()
        self.calls = 0
        self.value = 10_000.0
        self.fail_next: Exception | None = None

    async def account_snapshot(self) -> AccountSnapshot:
        self.calls += 1
        value = self.value  # what the venue holds when the request arrives
        self.entered.set()
        await self.gate.wait()
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error
        return AccountSnapshot(value, (), self.clock.t)


def rig() -> tuple[FakeClock, FakeAccount, BalanceCache]:
    clock = FakeClock()
    account = FakeAccount(clock)
    return clock, account, BalanceCache(account, clock.now_ms, TTL)


async def start_held(account: FakeAccount, n: int, cache: BalanceCache) -> list[asyncio.Task]:
    account.gate.clear()
    account.entered.clear()
    tasks = [asyncio.ensure_future(cache.snapshot()) for _ in range(n)]
    await account.entered.wait()
    return tasks


def test_50_concurrent_preflights_share_1_snapshot_fetch():
    async def scenario():
        _, account, cache = rig()
        tasks = await start_held(account, 50, cache)
        account.gate.set()
        snaps = await asyncio.gather(*tasks)
        assert account.calls == 1
        assert all(s is snaps[0] for s in snaps)
        assert (cache.misses, cache.shared, cache.hits) == (1, 49, 0)

    asyncio.run(scenario())


def test_snapshot_is_reused_within_the_ttl_and_refetched_after():
    async def scenario():
        clock, account, cache = rig()
        first = await cache.snapshot()
        clock.t += TTL - 1
        assert await cache.snapshot() is first
        clock.t += 1
        assert await cache.snapshot() is not first
        assert account.calls == 2
        assert (cache.misses, cache.hits) == (2, 1)

    asyncio.run(scenario())


def test_our_fill_invalidates_the_snapshot():
    async def scenario():
        _, account, cache = rig()
        assert (await cache.snapshot()).account_value == 10_000.0
        account.value = 9_500.0  # our fill moved the balance
        cache.invalidate()
        assert (await cache.snapshot()).account_value == 9_500.0
        assert account.calls == 2

    asyncio.run(scenario())


def test_a_fill_landing_mid_fetch_is_not_masked_by_that_fetch():
    async def scenario():
        _, account, cache = rig()
        before = await start_held(account, 1, cache)  # the venue saw 10 000
        account.value = 9_500.0
        cache.invalidate()  # our fill landed while that fetch was in flight
        account.entered.clear()
        after = asyncio.ensure_future(cache.snapshot())
        await account.entered.wait()  # a new fetch, not a join of the old one
        account.gate.set()
        old, new = await asyncio.gather(before[0], after)
        assert (old.account_value, new.account_value) == (10_000.0, 9_500.0)
        assert (await cache.snapshot()).account_value == 9_500.0
        assert account.calls == 2

    asyncio.run(scenario())


def test_an_error_reaches_every_waiter_and_is_not_cached():
    async def scenario():
        _, account, cache = rig()
        account.fail_next = TimeoutError("venue slow")
        tasks = await start_held(account, 5, cache)
        account.gate.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, TimeoutError) for r in results)
        assert account.calls == 1
        assert (await cache.snapshot()).account_value == 10_000.0
        assert account.calls == 2

    asyncio.run(scenario())


# --- the preflight rule: required = notional / leverage ≤ value × (1 − reserve) − in use -------


def test_required_margin_is_notional_over_leverage():
    assert required_margin(5_000.0, 5.0) == 1_000.0


def test_order_using_exactly_the_free_collateral_passes_one_dollar_more_fails():
    # value 1 000, reserve 10 %: 900 free; at 5× that is 4 500 of notional
    assert preflight(1_000.0, 4_500.0, 5.0, 0.10) is None
    assert preflight(1_000.0, 4_505.0, 5.0, 0.10) is INSUFFICIENT


def test_margin_already_in_use_is_not_free():
    # 900 − 100 in use = 800 free: 4 000 of notional at 5×
    assert preflight(1_000.0, 4_000.0, 5.0, 0.10, margin_in_use=100.0) is None
    assert preflight(1_000.0, 4_005.0, 5.0, 0.10, margin_in_use=100.0) is INSUFFICIENT


def test_no_reserve_and_1x_lets_the_whole_account_in():
    assert preflight(1_000.0, 1_000.0, 1.0, 0.0) is None


@pytest.mark.parametrize(
    ("value", "notional", "in_use"),
    [
        (math.nan, 100.0, 0.0),
        (math.inf, 100.0, 0.0),
        (-50.0, 100.0, 0.0),
        (1_000.0, math.nan, 0.0),
        (1_000.0, math.inf, 0.0),
        (1_000.0, 0.0, 0.0),
        (1_000.0, -100.0, 0.0),
        (1_000.0, 100.0, math.nan),
        (1_000.0, 100.0, -1.0),
    ],
)
def test_what_cannot_be_checked_fails_closed(value, notional, in_use):
    assert preflight(value, notional, 5.0, 0.1, margin_in_use=in_use) is INSUFFICIENT


@pytest.mark.parametrize("leverage", [0.0, -2.0, math.nan, math.inf])
def test_bad_leverage_is_a_configuration_error(leverage):
    with pytest.raises(ValueError, match="leverage"):
        preflight(1_000.0, 100.0, leverage, 0.1)


@pytest.mark.parametrize("reserve", [-0.1, 1.0, math.nan])
def test_bad_reserve_is_a_configuration_error(reserve):
    with pytest.raises(ValueError, match="reserve_fraction"):
        preflight(1_000.0, 100.0, 5.0, reserve)


def test_read_ahead_refreshes_in_the_background_while_copies_keep_the_fresh_snapshot():
    async def scenario():
        clock, account, cache = rig()
        await cache.snapshot()
        clock.t += TTL // 2
        account.value = 9_800.0
        account.gate.clear()
        account.entered.clear()
        ahead = asyncio.ensure_future(cache.refresh())
        await account.entered.wait()  # the read ahead is at the venue…
        assert (await cache.snapshot()).account_value == 10_000.0  # …a copy does not wait
        account.gate.set()
        assert (await ahead).account_value == 9_800.0
        assert (await cache.snapshot()).account_value == 9_800.0
        assert account.calls == 2

    asyncio.run(scenario())


def test_with_read_ahead_our_fill_starts_the_next_read_at_once():
    async def scenario():
        _, account, cache = rig()
        cache.read_ahead = True
        await cache.snapshot()
        account.value = 9_500.0
        account.entered.clear()
        cache.invalidate()  # our fill: the read starts now, not when the next copy asks
        await asyncio.wait_for(account.entered.wait(), 1.0)
        await asyncio.sleep(0.01)  # and lands
        assert account.calls == 2
        hits = cache.hits
        assert (await cache.snapshot()).account_value == 9_500.0
        assert cache.hits == hits + 1 and account.calls == 2

    asyncio.run(scenario())


def test_with_read_ahead_a_snapshot_past_its_ttl_is_served_while_it_is_read_again():
    async def scenario():
        clock, account, cache = rig()
        cache.read_ahead = True
        await cache.snapshot()
        clock.t += TTL  # stale, but young enough to serve
        account.value = 9_900.0
        account.gate.clear()
        account.entered.clear()
        assert (await cache.snapshot()).account_value == 10_000.0  # no wait
        await account.entered.wait()  # the read again is under way
        assert (await cache.snapshot()).account_value == 10_000.0 and account.calls == 2
        account.gate.set()
        await asyncio.sleep(0.01)
        assert (await cache.snapshot()).account_value == 9_900.0 and account.calls == 2
        clock.t += 6 * TTL  # too old to serve: read, and wait for it
        assert (await cache.snapshot()).account_value == 9_900.0 and account.calls == 3

    asyncio.run(scenario())
