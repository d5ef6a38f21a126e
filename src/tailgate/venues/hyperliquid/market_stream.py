"""Books and mids pushed by Hyperliquid's WebSocket (SPEC §N, §E7): `allMids` and `l2Book`.

A copy prices its entry from the coin's book and marks everything with the mids. Read over
REST at the moment of the copy, that is a round trip on the copy path; subscribed, the venue
pushes them (a book every block) and the copy finds them in the engine's quote cache. Each
pushed message goes, as it arrives, to the consumer `deliver_to` names (the engine's
`QuoteCache.push_book` / `push_mids`). A push that stops (the socket down, a coin gone quiet)
costs nothing but freshness: the cache's TTL runs out and the next copy reads over REST.

Which coins: `watch(coins)` (re)subscribes `allMids` plus one `l2Book` per coin — the engine
asks for the coins its leaders trade, not the whole universe (a book per block per coin is the
heaviest traffic the venue sends). Frames that do not parse, and mids frames with a bad value,
are logged and dropped, never raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection

from tailgate.domain.models import OrderBook
from tailgate.logs import get_logger
from tailgate.transport import (
    ResilientStream,
    StreamHealth,
    StreamPolicy,
    hyperliquid_wire,
    stop_reading,
)
from tailgate.transport.limits import WsBudget
from tailgate.transport.metrics import TransportMetrics
from tailgate.venues.hyperliquid.ws_messages import (
    BookMessage,
    ErrorMessage,
    MidsMessage,
    parse_ws_message,
)
from tailgate.venues.protocols import PayloadError

__all__ = ["MAX_BOOK_SUBSCRIPTIONS", "HyperliquidMarketStream"]

log = get_logger("tailgate.hyperliquid.market_stream")

MAX_BOOK_SUBSCRIPTIONS = 50  # books streamed at most; other coins are read when needed


class HyperliquidMarketStream:
    def __init__(
        self,
        ws_url: str,
        *,
        max_books: int = MAX_BOOK_SUBSCRIPTIONS,
        policy: StreamPolicy | None = None,
        metrics: TransportMetrics | None = None,
        budget: WsBudget | None = None,
    ) -> None:
        self._url = ws_url
        self._on_book: Callable[[OrderBook], None] = _nowhere
        self._on_mids: Callable[[dict[str, float]], None] = _nowhere
        self._max_books = max_books
        self._policy = policy
        self._metrics = metrics
        self._budget = budget
        self._coins: tuple[str, ...] | None = None
        self._stream: ResilientStream | None = None
        self._reader: asyncio.Task[None] | None = None
        self.books = 0  # books pushed to the callback
        self.mids = 0  # mids frames pushed to the callback
        self.bad_frames = 0

    def deliver_to(
        self, on_book: Callable[[OrderBook], None], on_mids: Callable[[dict[str, float]], None]
    ) -> None:
        self._on_book, self._on_mids = on_book, on_mids

    @property
    def coins(self) -> tuple[str, ...]:
        return self._coins or ()

    @property
    def healthy(self) -> bool:
        return self._stream is not None and self._stream.health is StreamHealth.HEALTHY

    async def watch(self, coins: Collection[str]) -> None:
        """Stream the mids and the books of `coins` (the first `max_books` in the order given);
        the same set again changes nothing."""
        wanted = tuple(dict.fromkeys(coins))[: self._max_books]
        if wanted == self._coins and self._stream is not None:
            return
        await self.close()
        self._coins = wanted
        subscriptions = [{"type": "allMids"}] + [{"type": "l2Book", "coin": c} for c in wanted]
        self._stream = ResilientStream(
            self._url,
            subscriptions,
            name="hyperliquid.market",
            wire=hyperliquid_wire(),
            policy=self._policy,
            metrics=self._metrics,
            budget=self._budget,
        )
        self._stream.start()
        self._reader = asyncio.create_task(self._read(self._stream), name="hl-market-stream")
        log.info("market_stream_watching", books=len(wanted))

    async def close(self) -> None:
        reader, self._reader = self._reader, None
        stream, self._stream = self._stream, None
        await stop_reading(reader, stream)

    async def _read(self, stream: ResilientStream) -> None:
        async for raw in stream:
            try:
                message = parse_ws_message(raw)
            except PayloadError as exc:
                self.bad_frames += 1
                log.warning("market_stream_bad_frame", reason=exc.reason.value, detail=exc.detail)
                continue
            try:
                if isinstance(message, BookMessage):
                    self.books += 1
                    self._on_book(message.book)
                elif isinstance(message, MidsMessage):
                    if message.rejects:  # a REST read would refuse it whole: so do we
                        self.bad_frames += 1
                        log.warning("market_stream_bad_mids", rejects=len(message.rejects))
                        continue
                    self.mids += 1
                    self._on_mids(message.mids)
                elif isinstance(message, ErrorMessage):
                    log.warning("market_stream_venue_error", message=message.message)
            except Exception:  # one message's trouble is logged; the stream goes on
                log.exception("market_stream_message_failed")


def _nowhere(_: object) -> None:
    """Pushes before `deliver_to` names a consumer are dropped."""
