"""Quote cache with single-flight (SPEC §E7): one fetch serves every concurrent request.

When many leaders trade one coin at once, every copy wants the same book within milliseconds;
asking the venue once per copy burns rate-limit weight and gains nothing. Requests for one key
share one in-flight fetch, and its result is reused until a TTL read from the injected clock
(so a backtest's simulated time ages the cache exactly like real time does live). A venue
that streams books and mids pushes them in (`push_book`, `push_mids`): then a copy finds them
here and reads nothing (SPEC §N), and a push that stops simply lets the TTL send reads again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from tailgate.domain.models import Market, OrderBook
from tailgate.venues.protocols import MarketData

__all__ = ["QuoteCache", "SingleFlight", "TtlCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    """Concurrent `run(key, factory)` calls for one key share ONE call of the factory.

    The call runs in its own task, so a cancelled waiter never cancels it for the others.
    Its exception reaches every waiter and is not kept: the next `run` calls the factory again.
    """

    def __init__(self) -> None:
        self._flights: dict[K, asyncio.Future[V]] = {}
        self.started = 0  # factory calls
        self.joined = 0  # runs that shared a call already in flight

    def in_flight(self, key: K) -> bool:
        flight = self._flights.get(key)
        return flight is not None and not flight.done()

    def __len__(self) -> int:
        return sum(1 for f in self._flights.values() if not f.done())

    async def run(self, key: K, factory: Callable[[], Awaitable[V]]) -> V:
        flight = self._flights.get(key)
        if flight is None or flight.done():  # done: its result or error is not to be reused
            flight = asyncio.ensure_future(factory())
            self._flights[key] = flight
            flight.add_done_callback(lambda f: self._landed(key, f))
            self.started += 1
        else:
            self.joined += 1
        return await asyncio.shield(flight)

    def _landed(self, key: K, flight: asyncio.Future[V]) -> None:
        # An error with every waiter cancelled is not reported as never retrieved: shield
        # retrieves it for a cancelled outer.
        if self._flights.get(key) is flight:
            del self._flights[key]


@dataclass(frozen=True, slots=True)
class _Entry(Generic[V]):
    value: V
    fetched_ms: int  # clock time the fetch started: the data is at least this fresh


class TtlCache(Generic[K, V]):
    """Values by key, reused for `ttl_ms` of the injected clock, fetched single-flight.

    Counters (each request counts once): `hits` served from the cache, `misses` started a
    fetch, `shared` joined a fetch in flight. An entry's age counts from the start of its
    fetch, so it never looks fresher than it is. `invalidate` also detaches fetches already in
    flight: what they bring back may predate the event, so it is not stored, and later
    requests start a new fetch instead of joining them.
    """

    def __init__(self, now_ms: Callable[[], int], ttl_ms: int) -> None:
        if ttl_ms < 0:
            raise ValueError(f"ttl_ms must be >= 0, got {ttl_ms}")
        self._now_ms = now_ms
        self._ttl_ms = ttl_ms
        self._entries: dict[K, _Entry[V]] = {}
        self._flights: SingleFlight[tuple[K, int, int], V] = SingleFlight()
        self._epoch = 0  # bumped by invalidate(): every key
        self._generation: dict[K, int] = {}  # bumped by invalidate(key)
        self.hits = 0
        self.misses = 0
        self.shared = 0

    @property
    def ttl_ms(self) -> int:
        return self._ttl_ms

    async def get(self, key: K, fetch: Callable[[], Awaitable[V]]) -> V:
        entry = self._entries.get(key)
        if entry is not None and self._younger(entry, self._ttl_ms):
            self.hits += 1
            return entry.value
        flight_key = self._flight_key(key)
        if self._flights.in_flight(flight_key):
            self.shared += 1
        else:
            self.misses += 1
        return await self._flights.run(flight_key, lambda: self._fetch(flight_key, fetch))

    async def _fetch(self, flight_key: tuple[K, int, int], fetch: Callable[[], Awaitable[V]]) -> V:
        key, epoch, generation = flight_key
        started = self._now_ms()
        value = await fetch()
        if epoch == self._epoch and generation == self._generation.get(key, 0):
            current = self._entries.get(key)
            if current is None or current.fetched_ms <= started:  # never over a newer push
                self._entries[key] = _Entry(value, started)
        return value

    def peek(self, key: K, max_age_ms: int | None = None) -> V | None:
        """The cached value if younger than `max_age_ms` (the TTL by default; more serves it
        past the TTL), without fetching or counting."""
        entry = self._entries.get(key)
        age = self._ttl_ms if max_age_ms is None else max_age_ms
        return entry.value if entry is not None and self._younger(entry, age) else None

    async def refresh(self, key: K, fetch: Callable[[], Awaitable[V]]) -> V:
        """Fetch afresh in the background of requests: they keep the current entry (while its
        TTL lasts) instead of waiting for this fetch, which then replaces it."""
        flight_key = self._flight_key(key)
        return await self._flights.run(flight_key, lambda: self._fetch(flight_key, fetch))

    def _younger(self, entry: _Entry[V], max_age_ms: int) -> bool:
        return 0 <= self._now_ms() - entry.fetched_ms < max_age_ms

    def _flight_key(self, key: K) -> tuple[K, int, int]:
        """Fetches started before an invalidation are never joined after it."""
        return (key, self._epoch, self._generation.get(key, 0))

    def put(self, key: K, value: V) -> None:
        """A value the venue pushed (a stream): as fresh as now, reused for the TTL."""
        self._entries[key] = _Entry(value, self._now_ms())

    def invalidate(self, key: K | None = None) -> None:
        """Forget `key` (every key when None); the next request fetches afresh."""
        if key is None:
            self._epoch += 1
            self._entries.clear()
            self._generation.clear()
        else:
            self._entries.pop(key, None)
            self._generation[key] = self._generation.get(key, 0) + 1


class QuoteCache:
    """A MarketData that wraps another one: books and mids are cached, `markets` passes through.

    Because it is itself a MarketData, the composition root can wrap any venue without the
    engine knowing. Counters `hits`, `misses`, `shared` cover books and mids together.
    """

    def __init__(self, market: MarketData, now_ms: Callable[[], int], ttl_ms: int) -> None:
        self._market = market
        self._books: TtlCache[str, OrderBook] = TtlCache(now_ms, ttl_ms)
        self._mids: TtlCache[None, dict[str, float]] = TtlCache(now_ms, ttl_ms)

    @property
    def hits(self) -> int:
        return self._books.hits + self._mids.hits

    @property
    def misses(self) -> int:
        return self._books.misses + self._mids.misses

    @property
    def shared(self) -> int:
        return self._books.shared + self._mids.shared

    async def markets(self) -> list[Market]:
        return await self._market.markets()

    async def order_book(self, coin: str) -> OrderBook:
        return await self._books.get(coin, lambda: self._market.order_book(coin))

    async def mids(self) -> dict[str, float]:
        mids = await self._mids.get(None, self._market.mids)
        return dict(mids)  # a copy: a caller editing it must not edit the cache

    def push_book(self, book: OrderBook) -> None:
        """A book the venue pushed: served from here, without a read, for the TTL."""
        self._books.put(book.coin, book)

    def push_mids(self, mids: dict[str, float]) -> None:
        """Mids the venue pushed (all coins): served from here, without a read, for the TTL."""
        self._mids.put(None, dict(mids))

    def invalidate(self, coin: str | None = None) -> None:
        """Drop `coin`'s book, or every book and the mids when `coin` is None."""
        self._books.invalidate(coin)
        if coin is None:
            self._mids.invalidate()
