"""`ReplayVenue`: real history served through the venue protocols, at a clock's `now`.

It implements LeaderFeed, MarketData, OrderGateway and AccountState over `ReplayData`, so the
engine backtests on real leader fills and real prices exactly as it runs on the simulator.

No look-ahead: a fill is served once it has certainly happened (stamp + the data's
`fill_delay_ms` ≤ now); a price is the close of the last bar CLOSED at or before now
(`Bars.at`); leader state, account values and leaderboards use only the fills known at now.

Orders (like `SimVenue`): the venue's checks first (known coin with a price, size on the lot,
price on the grid, $10 minimum unless reduce-only, reduce-only must face a position and is
clipped to it); then one IOC fill at the §B1 slippage model's price (`slippage.py`) on the
last close, rounded to the grid against the taker — or nothing (CANCELLED, ORDER_NOT_FILLED)
when that price breaches the limit. No partial fills. A client order id seen before returns the
first result. Stop (trigger) orders rest and are settled lazily, on every call, over the bars
closed since they were last checked: touched inside a bar → the stop price, gapped through at
the bar's open → the open (`stop_fill_price`), then the slippage model. Fees = notional ×
fee_rate. `OrderResult.reason` follows the simulator: a ReasonCode value, or "CODE: detail".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from tailgate.domain.models import (
    MS_PER_DAY,
    LeaderboardEntry,
    LeaderFill,
    LeaderState,
    Market,
    OrderBook,
)
from tailgate.domain.precision import round_price
from tailgate.domain.reasons import ReasonCode
from tailgate.domain.stops import stop_fill_price
from tailgate.venues.hyperliquid.constants import TAKER_FEE_RATE
from tailgate.venues.paper import PaperAccount, PaperOrders, reject, validate_order
from tailgate.venues.protocols import (
    AccountSnapshot,
    FillPage,
    OpenOrder,
    OrderRequest,
    OrderResult,
    OrderStatus,
    PayloadError,
    VenuePosition,
)
from tailgate.venues.replay.data import ReplayData
from tailgate.venues.replay.leaders import LeaderHistory
from tailgate.venues.replay.slippage import fill_price, synthetic_book

__all__ = [
    "DEFAULT_MARKET_FACTS",
    "LEADERBOARD_WINDOWS_DAYS",
    "MARKET_FACTS",
    "ReplayVenue",
    "market_for",
]

LEADERBOARD_WINDOWS_DAYS = (7, 30, 90)
# Hyperliquid's perp facts (szDecimals, max leverage); other coins get a conservative default.
MARKET_FACTS: Mapping[str, tuple[int, int]] = {"BTC": (5, 40), "ETH": (4, 25), "SOL": (2, 20)}
DEFAULT_MARKET_FACTS = (2, 10)


def market_for(coin: str) -> Market:
    sz_decimals, max_leverage = MARKET_FACTS.get(coin, DEFAULT_MARKET_FACTS)
    return Market(coin=coin, sz_decimals=sz_decimals, max_leverage=max_leverage)


@dataclass(slots=True)
class _RestingStop:
    order: OrderRequest
    checked_ms: int  # bars closed at or before this were already checked


class ReplayVenue:
    """Real fills and bars, seen at `now_ms()`."""

    def __init__(
        self,
        data: ReplayData,
        now_ms: Callable[[], int],
        account_value: float = 100_000.0,
        fee_rate: float = TAKER_FEE_RATE,
    ) -> None:
        self.data = data
        self.now_ms = now_ms  # public: a restarted engine may hand the venue its new clock
        self._markets = {coin: market_for(coin) for coin in data.coins}
        by_leader: dict[str, list[LeaderFill]] = {}
        for f in data.fills:
            by_leader.setdefault(f.leader, []).append(f)
        self._leaders = {a: LeaderHistory(a, fills) for a, fills in sorted(by_leader.items())}
        self.account = PaperAccount(account_value, fee_rate)
        self.orders: PaperOrders[_RestingStop] = PaperOrders()
        self._settled_ms: int | None = None

    def restore_account(self, cash: float, positions: Iterable[VenuePosition]) -> None:
        """Rebuild our account after a restart (the store is the paper account's truth)."""
        self.account.restore(cash, positions)

    # --- what is known at now -----------------------------------------------------------------
    def _known_count(self, history: LeaderHistory, t_ms: int) -> int:
        """Fills of this leader known at t: stamped at or before t − fill_delay_ms."""
        return history.count_at(t_ms - self.data.fill_delay_ms)

    def price_at(self, coin: str, t_ms: int) -> float | None:
        """Close of the last bar closed at or before t (None: no such bar, or no bars)."""
        bars = self.data.bars.get(coin)
        return None if bars is None else bars.close_at(t_ms)

    # --- LeaderFeed ---------------------------------------------------------------------------
    async def leaderboard(self, window_days: int) -> list[LeaderboardEntry]:
        """One row per leader with a known fill; best PnL over the window first."""
        if window_days not in LEADERBOARD_WINDOWS_DAYS:
            raise ValueError(f"window_days must be one of {LEADERBOARD_WINDOWS_DAYS}")
        now = self.now_ms()
        rows: list[LeaderboardEntry] = []
        for history in self._leaders.values():
            count = self._known_count(history, now)
            if count == 0:
                continue
            start = self._known_count(history, now - window_days * MS_PER_DAY)
            rows.append(history.leaderboard_entry(window_days, count, start))
        rows.sort(key=lambda e: (-e.pnl, e.leader))
        return rows

    async def leader_fills(self, leader: str, start_ms: int, end_ms: int) -> FillPage:
        """Fills with start ≤ stamp < end that are known at now; oldest first."""
        history = self._leaders.get(leader)
        if history is None:
            return FillPage([])
        times = history.time_ms
        known = self._known_count(history, self.now_ms())
        i0 = int(np.searchsorted(times, start_ms, side="left"))
        i1 = min(int(np.searchsorted(times, end_ms, side="left")), known)
        return FillPage(list(history.fills[i0:i1]) if i1 > i0 else [])

    async def leader_state(self, leader: str) -> LeaderState:
        """Positions from the known fills, marked at the last close; unknown leader → empty."""
        now = self.now_ms()
        history = self._leaders.get(leader)
        if history is None:
            return LeaderState(leader, 0.0, (), now)
        return history.state(
            self._known_count(history, now), now, lambda coin: self.price_at(coin, now)
        )

    async def leader_portfolio(self, leader: str) -> list[tuple[int, float]]:
        """Daily estimated account values over the last 90 days up to now."""
        history = self._leaders.get(leader)
        if history is None:
            return []
        return history.portfolio(self.now_ms(), self.data.fill_delay_ms)

    # --- MarketData ---------------------------------------------------------------------------
    async def markets(self) -> list[Market]:
        return [self._markets[c] for c in sorted(self._markets)]

    async def mids(self) -> dict[str, float]:
        """Last closed bar's close per coin; coins without a closed bar yet are absent."""
        self._settle_stops()
        now = self.now_ms()
        out: dict[str, float] = {}
        for coin in sorted(self._markets):
            price = self.price_at(coin, now)
            if price is not None:
                out[coin] = price
        return out

    async def order_book(self, coin: str) -> OrderBook:
        market = self._markets.get(coin)
        if market is None:
            raise PayloadError(ReasonCode.UNKNOWN_COIN, f"no market {coin!r}")
        now = self.now_ms()
        price = self.price_at(coin, now)
        if price is None:
            raise PayloadError(ReasonCode.NO_PRICE, f"no closed bar of {coin!r} yet")
        return synthetic_book(coin, market, price, now)

    # --- OrderGateway -------------------------------------------------------------------------
    async def place_order(self, order: OrderRequest) -> OrderResult:
        self._settle_stops()
        previous = self.orders.answer(order.client_order_id)
        if previous is not None:
            return previous
        resting = order.trigger_price is not None
        result = self._rest_stop(order) if resting else self._execute(order)
        self.orders.answers[order.client_order_id] = result
        return result

    async def order_by_client_id(self, client_order_id: str) -> OrderResult | None:
        self._settle_stops()
        return self.orders.answer(client_order_id)

    async def cancel_order(self, client_order_id: str) -> bool:
        """Cancel a resting stop; False when there is nothing resting under that id."""
        self._settle_stops()
        return self.orders.cancel(client_order_id)

    # --- AccountState -------------------------------------------------------------------------
    async def account_snapshot(self) -> AccountSnapshot:
        self._settle_stops()
        now = self.now_ms()
        return self.account.snapshot(lambda coin: self.price_at(coin, now), now)

    async def open_orders(self) -> list[OpenOrder]:
        """Our stops still resting (stop-market: no limit), by client order id."""
        self._settle_stops()
        return [
            OpenOrder(cid, s.order.coin, s.order.is_buy, s.order.size, s.order.trigger_price, None)
            for cid, s in sorted(self.orders.resting.items())
        ]

    def account_value(self, now_ms: int | None = None) -> float:
        """Collateral plus unrealised PnL at the last close (at entry while no bar is closed)."""
        now = self.now_ms() if now_ms is None else now_ms
        return self.account.value(lambda coin: self.price_at(coin, now))

    # --- execution ----------------------------------------------------------------------------
    def _venue_id(self, client_order_id: str) -> str:
        """Unique because client order ids are (a duplicate never reaches execution)."""
        return f"replay-{client_order_id}"

    def _execute(self, order: OrderRequest) -> OrderResult:
        market = self._markets.get(order.coin)
        if market is None:
            return reject(order, ReasonCode.UNKNOWN_COIN, f"no market {order.coin!r}")
        rejected = validate_order(order, market, order.limit_price)
        if rejected is not None:
            return rejected
        now = self.now_ms()
        close = self.price_at(order.coin, now)
        if close is None:
            return reject(order, ReasonCode.NO_PRICE, f"no closed bar of {order.coin!r}")
        size = order.size
        if order.reduce_only:
            size = self.account.reducible(order.coin, order.is_buy, size, market)
            if size <= 0:
                return reject(
                    order, ReasonCode.ORDER_REJECTED, "reduce-only order would increase position"
                )
        price = self._model_price(order.coin, market, close, order.is_buy, size)
        venue_id = self._venue_id(order.client_order_id)
        breached = price > order.limit_price if order.is_buy else price < order.limit_price
        if breached:
            return OrderResult(
                order.client_order_id,
                OrderStatus.CANCELLED,
                venue_order_id=venue_id,
                reason=ReasonCode.ORDER_NOT_FILLED.value,
            )
        return self.account.fill(
            order.client_order_id, venue_id, order.coin, order.is_buy, size, price, now, market
        )

    def _model_price(
        self, coin: str, market: Market, reference: float, is_buy: bool, size: float
    ) -> float:
        """The §B1 price for `size` at `reference`, rounded to the grid against the taker."""
        raw = fill_price(coin, reference, is_buy, size * reference)
        return round_price(raw, market, is_buy=not is_buy)

    # --- stops --------------------------------------------------------------------------------
    def _rest_stop(self, order: OrderRequest) -> OrderResult:
        market = self._markets.get(order.coin)
        if market is None:
            return reject(order, ReasonCode.UNKNOWN_COIN, f"no market {order.coin!r}")
        assert order.trigger_price is not None
        rejected = validate_order(order, market, order.trigger_price)
        if rejected is not None:
            return rejected
        if not order.reduce_only:
            return reject(order, ReasonCode.ORDER_REJECTED, "stops must be reduce-only")
        self.orders.resting[order.client_order_id] = _RestingStop(order, self.now_ms())
        return OrderResult(order.client_order_id, OrderStatus.OPEN, reason="resting")

    def _settle_stops(self) -> None:
        """Fill every resting stop that the bars closed since it was last checked went through."""
        if not self.orders.resting:
            return
        now = self.now_ms()
        if now == self._settled_ms:
            return
        self._settled_ms = now
        for cid in sorted(self.orders.resting):
            stop = self.orders.resting[cid]
            hit = self._first_touch(stop, now)
            if hit is None:
                continue
            del self.orders.resting[cid]
            touched, time_ms = hit
            order = stop.order
            market = self._markets[order.coin]
            self.orders.answers[cid] = self.account.stop_out(
                cid,
                self._venue_id(cid),
                order.coin,
                order.is_buy,
                order.size,
                lambda size, o=order, m=market, p=touched: self._model_price(
                    o.coin, m, p, o.is_buy, size
                ),
                time_ms,
                market,
            )

    def _first_touch(self, stop: _RestingStop, now_ms: int) -> tuple[float, int] | None:
        """(price before slippage, bar close time) of the first bar closed in (checked, now]
        that reaches the trigger; None otherwise (and the stop is marked checked up to now)."""
        order = stop.order
        bars = self.data.bars[order.coin]
        first = bars.at(stop.checked_ms)
        last = bars.at(now_ms)
        stop.checked_ms = max(stop.checked_ms, now_ms)
        lo = 0 if first is None else first + 1
        if last is None or last < lo:
            return None
        trigger = order.trigger_price
        assert trigger is not None
        window = slice(lo, last + 1)
        reached = bars.high[window] >= trigger if order.is_buy else bars.low[window] <= trigger
        hits = np.flatnonzero(reached)
        if not len(hits):
            return None
        k = lo + int(hits[0])
        touched = stop_fill_price(
            trigger,
            not order.is_buy,
            float(bars.open[k]),
            float(bars.high[k]),
            float(bars.low[k]),
        )
        return (trigger if touched is None else touched), int(bars.time_ms[k]) + bars.interval_ms
