"""Quote cache (SPEC §E7): concurrent requests for one book share one fetch; TTL on the clock.

Deterministic: fetches are held open by an asyncio.Event and time is a fake clock, so nothing
here depends on wall-clock timing.
"""

from __future__ import annotations

import asyncio
import gc

import pytest

from tailgate.domain.models import Level, Market, OrderBook
from tailgate.engine.quotes import QuoteCache, SingleFlight, TtlCache
from tailgate.venues.protocols import MarketData

TTL = 1_000


class FakeClock:
    def __init__(self, t: int = 0) -> None:
        self.t = t

    def now_ms(self) -> int:
        return self.t


class FakeMarket:
    """A MarketData that counts calls; while `gate` is clear, fetches wait inside the venue."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.gate = asyncio.Event()
        self.gate.set()
        self.entered = asyncio.Event()  # set when a fetch is inside the venue
        self.book_calls: dict[str, int] = {}
        self.mids_calls = 0
        self.markets_calls = 0
        self.fail_next: Exception | None = None

    async def _inside(self) -> None:
        self.entered.set()
        await self.gate.wait()
        if self.fail_next is not None:
            error, self.fail_next = self.fail_next, None
            raise error

    async def markets(self) -> list[Market]:
        self.markets_calls += 1
        return [Market("ETH", 4, 50)]

    async def mids(self) -> dict[str, float]:
        self.mids_calls += 1
        await self._inside()
        return {"ETH": 3000.0 + self.mids_calls, "BTC": 60_000.0}

    async def order_book(self, coin: str) -> OrderBook:
        n = self.book_calls[coin] = self.book_calls.get(coin, 0) + 1
        await self._inside()
        return OrderBook(coin, self.clock.t, (Level(99.0 + n, 1.0),), (Level(101.0 + n, 1.0),))


def rig(ttl: int = TTL) -> tuple[FakeClock, FakeMarket, QuoteCache]:
    clock = FakeClock(1_000_000)
    market = FakeMarket(clock)
    return clock, market, QuoteCache(market, clock.now_ms, ttl)


async def start_held(market: FakeMarket, coros) -> list[asyncio.Task]:
    """Start the requests with the venue held, and return once one fetch is inside it.

    Tasks run in creation order, so by the time the fetch task runs every request has been
    made (and counted); the venue is still holding the fetch.
    """
    market.gate.clear()
    market.entered.clear()
    tasks = [asyncio.ensure_future(c) for c in coros]
    await market.entered.wait()
    return tasks


def test_50_concurrent_requests_for_one_book_make_1_fetch():
    async def scenario():
        _, market, cache = rig()
        tasks = await start_held(market, [cache.order_book("ETH") for _ in range(50)])
        assert (cache.misses, cache.shared, cache.hits) == (1, 49, 0)
        market.gate.set()
        books = await asyncio.gather(*tasks)
        assert market.book_calls == {"ETH": 1}
        assert all(b is books[0] for b in books)
        await cache.order_book("ETH")
        assert (cache.misses, cache.shared, cache.hits) == (1, 49, 1)

    asyncio.run(scenario())


def test_a_book_is_reused_until_the_ttl_then_fetched_again():
    async def scenario():
        clock, market, cache = rig()
        first = await cache.order_book("ETH")
        clock.t += TTL - 1
        assert await cache.order_book("ETH") is first
        clock.t += 1  # the entry is TTL old: expired
        second = await cache.order_book("ETH")
        assert second is not first
        assert market.book_calls == {"ETH": 2}
        assert (cache.misses, cache.hits, cache.shared) == (2, 1, 0)

    asyncio.run(scenario())


def test_age_counts_from_the_start_of_the_fetch():
    async def scenario():
        clock, market, cache = rig()
        task = (await start_held(market, [cache.order_book("ETH")]))[0]
        clock.t += TTL  # the venue took a whole TTL to answer
        market.gate.set()
        await task
        await cache.order_book("ETH")
        assert market.book_calls == {"ETH": 2}

    asyncio.run(scenario())


def test_coins_are_cached_and_fetched_independently():
    async def scenario():
        _, market, cache = rig()
        tasks = await start_held(market, [cache.order_book(c) for c in ("ETH", "BTC", "ETH")])
        market.gate.set()
        eth, btc, eth2 = await asyncio.gather(*tasks)
        assert (eth.coin, btc.coin, eth2 is eth) == ("ETH", "BTC", True)
        assert market.book_calls == {"ETH": 1, "BTC": 1}
        assert (cache.misses, cache.shared) == (2, 1)

    asyncio.run(scenario())


def test_an_error_reaches_every_waiter_and_the_next_call_retries():
    async def scenario():
        _, market, cache = rig()
        market.fail_next = ConnectionError("venue down")
        tasks = await start_held(market, [cache.order_book("ETH") for _ in range(10)])
        market.gate.set()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, ConnectionError) for r in results)
        assert len({id(r) for r in results}) == 1  # the one error of the one fetch
        assert market.book_calls == {"ETH": 1}
        book = await cache.order_book("ETH")  # not cached: fetched again
        assert book.coin == "ETH"
        assert market.book_calls == {"ETH": 2}

    asyncio.run(scenario())


def test_invalidate_forces_a_fetch_for_that_coin_only():
    async def scenario():
        _, market, cache = rig()
        await cache.order_book("ETH")
        await cache.order_book("BTC")
        cache.invalidate("ETH")
        await cache.order_book("ETH")
        await cache.order_book("BTC")
        assert market.book_calls == {"ETH": 2, "BTC": 1}
        cache.invalidate()
        await cache.order_book("BTC")
        assert market.book_calls == {"ETH": 2, "BTC": 2}

    asyncio.run(scenario())


def test_a_fetch_in_flight_during_invalidate_is_neither_joined_nor_stored():
    async def scenario():
        _, market, cache = rig()
        before = await start_held(market, [cache.order_book("ETH")])
        cache.invalidate("ETH")
        market.entered.clear()
        after = asyncio.ensure_future(cache.order_book("ETH"))
        await market.entered.wait()  # a second fetch started rather than joining the first
        market.gate.set()
        old, new = await asyncio.gather(before[0], after)
        assert market.book_calls == {"ETH": 2}
        assert await cache.order_book("ETH") is new  # the detached fetch did not overwrite
        assert old is not new

    asyncio.run(scenario())


def test_a_cancelled_waiter_does_not_cancel_the_shared_fetch():
    async def scenario():
        _, market, cache = rig()
        first, second = await start_held(market, [cache.order_book("ETH") for _ in range(2)])
        first.cancel()
        await asyncio.sleep(0)
        market.gate.set()
        book = await second
        assert first.cancelled() and book.coin == "ETH"
        assert market.book_calls == {"ETH": 1}

    asyncio.run(scenario())


def test_mids_are_shared_cached_and_handed_out_as_copies():
    async def scenario():
        clock, market, cache = rig()
        tasks = await start_held(market, [cache.mids() for _ in range(5)])
        market.gate.set()
        results = await asyncio.gather(*tasks)
        assert market.mids_calls == 1
        results[0]["ETH"] = -1.0  # a caller scribbling on its copy
        assert (await cache.mids())["ETH"] == 3001.0
        cache.invalidate("ETH")  # a book invalidation leaves the mids alone
        await cache.mids()
        assert market.mids_calls == 1
        cache.invalidate()
        await cache.mids()
        clock.t += TTL
        await cache.mids()
        assert market.mids_calls == 3

    asyncio.run(scenario())


def test_it_is_a_market_data_and_passes_markets_through():
    async def scenario():
        _, market, cache = rig()
        assert isinstance(cache, MarketData)
        assert await cache.markets() == [Market("ETH", 4, 50)]
        await cache.markets()
        assert market.markets_calls == 2

    asyncio.run(scenario())


def test_ttl_zero_only_deduplicates_concurrent_requests():
    async def scenario():
        _, market, cache = rig(ttl=0)
        tasks = await start_held(market, [cache.order_book("ETH") for _ in range(3)])
        market.gate.set()
        await asyncio.gather(*tasks)
        await cache.order_book("ETH")
        assert market.book_calls == {"ETH": 2}

    asyncio.run(scenario())


def test_negative_ttl_is_refused():
    with pytest.raises(ValueError, match="ttl_ms"):
        TtlCache(lambda: 0, -1)


# --- SingleFlight on its own ----------------------------------------------------------------


def test_single_flight_shares_one_call_per_key_and_keeps_nothing():
    async def scenario():
        sf: SingleFlight[str, int] = SingleFlight()
        gate = asyncio.Event()
        calls: list[str] = []

        def factory(key: str, value: int):
            async def call() -> int:
                calls.append(key)
                await gate.wait()
                return value

            return call

        tasks = [
            asyncio.ensure_future(sf.run(k, factory(k, v)))
            for k, v in [("a", 1), ("a", 2), ("b", 3)]
        ]
        await asyncio.sleep(0)
        assert sf.in_flight("a") and sf.in_flight("b") and len(sf) == 2
        gate.set()
        assert await asyncio.gather(*tasks) == [1, 1, 3]  # the second "a" shared the first
        assert calls == ["a", "b"]
        assert (sf.started, sf.joined, len(sf)) == (2, 1, 0)
        assert await sf.run("a", factory("a", 4)) == 4  # a later run calls afresh

    asyncio.run(scenario())


def test_single_flight_error_with_every_waiter_cancelled_is_not_reported_unretrieved():
    async def scenario():
        sf: SingleFlight[str, int] = SingleFlight()
        gate = asyncio.Event()
        unhandled: list[dict] = []
        asyncio.get_running_loop().set_exception_handler(lambda _, ctx: unhandled.append(ctx))

        async def boom() -> int:
            await gate.wait()
            raise RuntimeError("boom")

        waiter = asyncio.ensure_future(sf.run("k", boom))
        await asyncio.sleep(0)
        waiter.cancel()
        await asyncio.sleep(0)
        gate.set()
        for _ in range(3):
            await asyncio.sleep(0)
        assert not sf.in_flight("k") and len(sf) == 0
        gc.collect()
        assert unhandled == []

    asyncio.run(scenario())


def test_a_pushed_book_is_served_for_the_ttl_and_never_overwritten_by_an_older_fetch():
    async def scenario():
        clock, market, quotes = rig()
        held = await start_held(market, [quotes.order_book("ETH")])  # a read started at t
        clock.t += 10
        pushed = OrderBook("ETH", clock.t, (Level(50.0, 2.0),), (Level(51.0, 2.0),))
        quotes.push_book(pushed)  # newer than the read in flight
        market.gate.set()
        await held[0]
        assert await quotes.order_book("ETH") is pushed  # the older read did not replace it
        assert market.book_calls == {"ETH": 1}
        clock.t += TTL
        await quotes.order_book("ETH")  # aged out: read again
        assert market.book_calls == {"ETH": 2}
        quotes.push_mids({"ETH": 3_001.5})
        assert await quotes.mids() == {"ETH": 3_001.5} and market.mids_calls == 0

    asyncio.run(scenario())
