"""Books and mids pushed over the emulator's WebSocket into the engine's quote cache: what a
copy then finds there equals what a REST read says, with no read; a book that stops being
pushed is read again once the cache's TTL runs out."""

from __future__ import annotations

import asyncio

from tailgate.domain.models import OrderBook
from tailgate.engine.quotes import QuoteCache
from tailgate.transport import Backoff, HttpTransport, StreamPolicy
from tailgate.venues.hyperliquid.emulator import EmulatedVenue, serve
from tailgate.venues.hyperliquid.info import HyperliquidInfo
from tailgate.venues.hyperliquid.market_stream import HyperliquidMarketStream
from tailgate.venues.protocols import MarketDataStream
from tailgate.venues.sim import SimConfig, SimWorld

WORLD = SimConfig(
    seed=5, history_days=3, forward_days=1, coins=("BTC", "ETH", "SOL"),
    n_swing=2, n_position=1, n_noise=1, n_hft=1, n_overleveraged=1, n_tiny_win=1,
)  # fmt: skip
TTL_MS = 1_000


class CountingInfo(HyperliquidInfo):
    reads = 0

    async def info(self, body):  # type: ignore[override]
        self.reads += 1
        return await super().info(body)


def test_pushed_books_and_mids_serve_copies_without_a_read() -> None:
    world = SimWorld(WORLD)
    now = [world.config.start_ms + 3_600_000]

    async def run() -> None:
        emulated = EmulatedVenue(world, lambda: now[0], verify=lambda body: "")
        runner, port = await serve(emulated, push_interval_s=0.005)
        http = HttpTransport(f"http://127.0.0.1:{port}", venue="hyperliquid")
        info = CountingInfo(http, now_ms=lambda: now[0])
        stream = HyperliquidMarketStream(
            f"ws://127.0.0.1:{port}/ws",
            policy=StreamPolicy(reconnect=Backoff(base_s=0.01, max_s=0.02), tick_s=0.05),
        )
        assert isinstance(stream, MarketDataStream)
        quotes = QuoteCache(info, lambda: now[0], TTL_MS)
        pushed: list[OrderBook] = []

        def on_book(book: OrderBook) -> None:
            pushed.append(book)
            quotes.push_book(book)

        stream.deliver_to(on_book, quotes.push_mids)
        try:
            await stream.watch(["ETH", "BTC", "ETH"])
            assert stream.coins == ("ETH", "BTC")
            for _ in range(300):
                if {b.coin for b in pushed} == {"ETH", "BTC"} and stream.mids:
                    break
                await asyncio.sleep(0.01)
            assert {b.coin for b in pushed} == {"ETH", "BTC"} and stream.mids >= 1
            before = info.reads
            eth, mids = await quotes.order_book("ETH"), await quotes.mids()
            assert info.reads == before  # served from what was pushed
            assert eth == await info.order_book("ETH")
            assert mids == await info.mids()
            await quotes.order_book("SOL")  # not streamed: read
            assert info.reads == before + 3
            stream_books = stream.books
            await stream.watch(["ETH", "BTC"])  # the same set: no new subscription
            now[0] += TTL_MS  # the world stands still within the minute: nothing new pushed
            await asyncio.sleep(0.05)
            assert stream.books == stream_books
            reads = info.reads
            await quotes.order_book("ETH")  # the pushed book has aged out: read again
            assert info.reads == reads + 1
        finally:
            await stream.close()
            await http.aclose()
            await runner.cleanup()

    asyncio.run(run())
