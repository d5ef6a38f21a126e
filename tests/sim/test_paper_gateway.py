"""Paper fills on a real feed: IOC orders walk the venue's live book, stops fire when the mid
crosses them, and a reused client order id gets its first answer."""

from __future__ import annotations

import asyncio

from tailgate.domain.models import Level, Market, OrderBook, OrderType
from tailgate.venues.paper_gateway import PaperGateway
from tailgate.venues.protocols import OrderRequest, OrderStatus

BTC = Market("BTC", sz_decimals=3, max_leverage=40)


class Feed:
    def __init__(self) -> None:
        self.mid = 100_000.0
        self.reads = 0

    async def mids(self) -> dict[str, float]:
        return {"BTC": self.mid}

    async def order_book(self, coin: str) -> OrderBook:
        self.reads += 1
        m = self.mid
        return OrderBook(
            coin,
            bids=(Level(m - 1, 0.5), Level(m - 5, 2.0)),
            asks=(Level(m + 1, 0.5), Level(m + 5, 2.0)),
            time_ms=0,
        )

    async def markets(self) -> list[Market]:
        return [BTC]


def test_orders_walk_the_live_book_and_stops_fire_on_the_mid():
    feed = Feed()
    clock = {"now": 1_000}
    paper = PaperGateway(feed, {"BTC": BTC}, lambda: clock["now"], starting_cash=100_000)

    async def run():
        buy = OrderRequest("0x01", "BTC", True, 1.0, 100_010.0, OrderType.MARKET)
        filled = await paper.place_order(buy)
        again = await paper.place_order(buy)  # the same id: no second trade
        stop = OrderRequest(
            "0x02", "BTC", False, 1.0, 99_000.0, OrderType.MARKET, reduce_only=True,
            trigger_price=99_500.0,
        )  # fmt: skip
        rested = await paper.place_order(stop)
        resting = await paper.open_orders()
        feed.mid, clock["now"] = 99_400.0, 31_000  # through the trigger, a monitor tick later
        fired = await paper.order_by_client_id("0x02")
        snapshot = await paper.account_snapshot()
        return filled, again, rested, resting, fired, snapshot

    filled, again, rested, resting, fired, snapshot = asyncio.run(run())
    assert filled.status is OrderStatus.FILLED and filled.filled_size == 1.0
    assert filled.avg_price == (0.5 * 100_001 + 0.5 * 100_005) and len(filled.fills) == 2
    assert again is filled
    assert rested.status is OrderStatus.OPEN and [o.client_order_id for o in resting] == ["0x02"]
    assert fired.status is OrderStatus.FILLED and fired.filled_size == 1.0
    assert fired.avg_price == (0.5 * 99_399 + 0.5 * 99_395)  # the bids at the moment it fired
    assert snapshot.positions == ()
