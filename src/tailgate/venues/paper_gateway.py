"""Paper trading on a real venue's feed: our orders are filled against the venue's live book
and never sent; our stops are watched against its mids (SPEC "paper" mode).

The same IOC book walk and account bookkeeping as the simulator (`venues/paper.py`), over any
`MarketData` — Hyperliquid's over HTTP, or the loopback emulator's. A stop fires at the first
look that finds the mid through its trigger, and fills by walking the book then: between two
looks the real venue could have done better or worse; the monitor looks every
MONITOR_INTERVAL, so the gap is bounded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from tailgate.domain.models import Market
from tailgate.domain.reasons import ReasonCode
from tailgate.venues.paper import (
    PaperAccount,
    PaperOrders,
    execute_ioc,
    reject,
    take_liquidity,
    validate_order,
)
from tailgate.venues.protocols import (
    AccountSnapshot,
    MarketData,
    OpenOrder,
    OrderRequest,
    OrderResult,
    OrderStatus,
    VenuePosition,
)

__all__ = ["PaperGateway"]

_FAR = 1e18  # a triggered stop-market walks the book without a limit


@dataclass(frozen=True, slots=True)
class _Stop:
    client_order_id: str
    coin: str
    is_buy: bool
    size: float
    trigger_price: float


class PaperGateway:
    def __init__(
        self,
        market: MarketData,
        markets: Mapping[str, Market],
        now_ms: Callable[[], int],
        *,
        starting_cash: float,
    ) -> None:
        self._market = market
        self._markets = markets
        self._now_ms = now_ms
        self.account = PaperAccount(starting_cash)
        self.orders: PaperOrders[_Stop] = PaperOrders()
        self._next_id = 1
        self._looked: tuple[int, dict[str, float]] | None = None  # (now, mids) of the last look

    def restore_account(self, cash: float, positions: Iterable[VenuePosition]) -> None:
        """A restarted process: the store is the paper account's truth."""
        self.account.restore(cash, positions)

    # ---- OrderGateway -------------------------------------------------------------------

    async def place_order(self, order: OrderRequest) -> OrderResult:
        previous = self.orders.answer(order.client_order_id)
        if previous is not None:  # a reused id: the first answer, never a second trade
            return previous
        await self._settle()
        market = self._markets.get(order.coin)
        if market is None:
            result = reject(order, ReasonCode.UNKNOWN_COIN, f"no market {order.coin!r}")
        elif order.trigger_price is not None:
            result = self._rest(order, market)
        else:
            book = await self._market.order_book(order.coin)
            result = execute_ioc(order, market, book, self.account, self._id(), self._now_ms())
        self.orders.answers[order.client_order_id] = result
        return result

    async def order_by_client_id(self, client_order_id: str) -> OrderResult | None:
        await self._settle()
        return self.orders.answer(client_order_id)

    async def cancel_order(self, client_order_id: str) -> bool:
        await self._settle()
        return self.orders.cancel(client_order_id)

    # ---- AccountState -------------------------------------------------------------------

    async def account_snapshot(self) -> AccountSnapshot:
        mids = await self._look()
        await self._settle(mids)
        return self.account.snapshot(mids.get, self._now_ms())

    async def open_orders(self) -> list[OpenOrder]:
        await self._settle()
        return [
            OpenOrder(cid, s.coin, s.is_buy, s.size, s.trigger_price, None)
            for cid, s in sorted(self.orders.resting.items())
        ]

    # ---- stops --------------------------------------------------------------------------

    def _rest(self, order: OrderRequest, market: Market) -> OrderResult:
        assert order.trigger_price is not None
        if not order.reduce_only:
            return reject(order, ReasonCode.ORDER_REJECTED, "stops must be reduce-only")
        probe = OrderRequest(  # checked at its trigger, as the venue does
            order.client_order_id,
            order.coin,
            order.is_buy,
            order.size,
            order.trigger_price,
            reduce_only=True,
        )
        refused = validate_order(probe, market, order.trigger_price)
        if refused is not None:
            return refused
        self.orders.resting[order.client_order_id] = _Stop(
            order.client_order_id, order.coin, order.is_buy, order.size, order.trigger_price
        )
        return OrderResult(order.client_order_id, OrderStatus.OPEN, reason="resting")

    async def _look(self) -> dict[str, float]:
        """The venue's mids, read once per instant however many calls ask (the monitor asks
        about every stop in turn)."""
        now = self._now_ms()
        if self._looked is None or self._looked[0] != now:
            self._looked = (now, await self._market.mids())
        return self._looked[1]

    async def _settle(self, mids: dict[str, float] | None = None) -> None:
        """Fire every resting stop the mid has crossed, at the book's price now."""
        if not self.orders.resting:
            return
        if mids is None:
            mids = await self._look()
        for cid in sorted(self.orders.resting):
            stop = self.orders.resting[cid]
            mid = mids.get(stop.coin)
            if mid is None:
                continue
            crossed = mid >= stop.trigger_price if stop.is_buy else mid <= stop.trigger_price
            if not crossed:
                continue
            del self.orders.resting[cid]
            book = await self._market.order_book(stop.coin)
            market = self._markets[stop.coin]

            def price_for(size: float, book=book, stop=stop) -> float:
                taken = take_liquidity(book, stop.is_buy, size, _FAR if stop.is_buy else 0.0)
                filled = sum(q for _, q in taken)
                return sum(p * q for p, q in taken) / filled if filled > 0 else stop.trigger_price

            self.orders.answers[cid] = self.account.stop_out(
                cid,
                self._id(),
                stop.coin,
                stop.is_buy,
                stop.size,
                price_for,
                self._now_ms(),
                market,
            )

    def _id(self) -> str:
        self._next_id += 1
        return f"paper-{self._now_ms()}-{self._next_id - 1}"
