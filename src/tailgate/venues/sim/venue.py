"""`SimVenue`: the simulated world served through the venue protocols, at a clock's `now`.

It implements LeaderFeed, MarketData, OrderGateway and AccountState. Every read builds the
Hyperliquid-shaped JSON (`payloads.py`) and parses it with the real adapter's parser, so the
engine receives exactly what a Hyperliquid adapter would hand it — including rejects.

No look-ahead: every answer is computed at `now_ms()`: fills at or before now, prices of the
last completed minute, positions and account values at now.

Orders are IOC against the book at now (walked up to the limit, one fill per level taken), with
the venue's checks first: known coin, size on the lot, price on the grid, and $10 minimum
notional unless reduce-only. A client order id seen before returns the first result and never
trades again, like Hyperliquid's duplicate-cloid rejection. A reduce-only order must face an
open position and is clipped to its size (FILLED when that much fills). Our account
(collateral, positions with average entry, realised PnL, fees) is tracked for
`account_snapshot`; there is no margin check. `OrderResult.reason` is a ReasonCode value
(ORDER_FILLED, ORDER_PARTIAL, ORDER_NOT_FILLED), or for rejections "CODE: detail" — the part
before ':' is the code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from tailgate.domain.models import (
    LeaderboardEntry,
    LeaderState,
    Market,
    OrderBook,
)
from tailgate.domain.reasons import ReasonCode
from tailgate.venues.hyperliquid.constants import TAKER_FEE_RATE
from tailgate.venues.hyperliquid.parse import (
    parse_all_mids,
    parse_clearinghouse_state,
    parse_l2_book,
    parse_leaderboard_row,
    parse_meta,
    parse_portfolio,
    parse_user_fills,
)
from tailgate.venues.paper import PaperAccount, PaperOrders, reject, validate_order
from tailgate.venues.protocols import (
    AccountSnapshot,
    FillPage,
    OrderRequest,
    OrderResult,
    OrderStatus,
    PayloadError,
    VenueFill,
    VenuePosition,
)
from tailgate.venues.sim import payloads
from tailgate.venues.sim.book import take_liquidity
from tailgate.venues.sim.triggers import PendingTrigger, settle_trigger
from tailgate.venues.sim.world import SimWorld

__all__ = ["SimVenue"]

FIRST_VENUE_ORDER_ID = 1_000_000


class SimVenue:
    """A Hyperliquid look-alike over a `SimWorld`, seen at `now_ms()`."""

    def __init__(
        self,
        world: SimWorld,
        now_ms: Callable[[], int],
        account_value: float = 100_000.0,
        fee_rate: float = TAKER_FEE_RATE,
    ) -> None:
        self.world = world
        self.now_ms = now_ms  # public: a restarted engine may hand the venue its new clock
        self.account = PaperAccount(account_value, fee_rate)
        self.orders: PaperOrders[PendingTrigger] = PaperOrders()
        self._next_order_id = FIRST_VENUE_ORDER_ID
        self._leaderboard_cache: tuple[int, list[dict[str, object]]] | None = None
        self._settled_minute = -1
        self._mids_cache: tuple[int, dict[str, float]] | None = None

    def restore_account(self, cash: float, positions: Iterable[VenuePosition]) -> None:
        """Rebuild our account after a restart of the process that held this simulator.

        The in-process simulator dies with our process; in paper mode the store is the
        account's truth, so a restarted engine hands it back here before trading.
        """
        self.account.restore(cash, positions)

    # --- LeaderFeed ---------------------------------------------------------------------------
    async def leaderboard(self, window_days: int) -> list[LeaderboardEntry]:
        """Every leader with history at or before now, best PnL over the window first."""
        now = self.now_ms()
        if self._leaderboard_cache is None or self._leaderboard_cache[0] != now:
            self._leaderboard_cache = (now, payloads.leaderboard_rows(self.world, now))
        entries = [parse_leaderboard_row(row, window_days) for row in self._leaderboard_cache[1]]
        entries.sort(key=lambda e: (-e.pnl, e.leader))
        return entries

    async def leader_fills(self, leader: str, start_ms: int, end_ms: int) -> FillPage:
        """Fills with start ≤ time < end, never after now; oldest first."""
        ledger = self.world.ledger(leader)
        if ledger is None:
            return parse_user_fills([], leader)
        i0, i1 = ledger.fill_range(start_ms, min(end_ms, self.now_ms() + 1))
        limit = self.world.config.fills_page_limit
        if limit is not None:
            i1 = min(i1, i0 + limit)
        raw = payloads.user_fills(
            self.world, ledger, i0, max(i0, i1), self.world.config.malformed_fill_rate
        )
        return parse_user_fills(raw, leader)

    async def leader_state(self, leader: str) -> LeaderState:
        now = self.now_ms()
        raw = payloads.clearinghouse_state(self.world, self.world.ledger(leader), now)
        return parse_clearinghouse_state(raw, leader, now)

    async def leader_portfolio(self, leader: str) -> list[tuple[int, float]]:
        """Daily account values over the last 90 days up to now (since the account exists)."""
        raw = payloads.portfolio(self.world, self.world.ledger(leader), self.now_ms())
        return parse_portfolio(raw)

    # --- MarketData ---------------------------------------------------------------------------
    async def markets(self) -> list[Market]:
        return parse_meta(payloads.meta(self.world))

    async def mids(self) -> dict[str, float]:
        self._settle_triggers()
        minute = self.world.paths.minute_of(self.now_ms())
        if self._mids_cache is None or self._mids_cache[0] != minute:  # prices move per minute
            mids = parse_all_mids(payloads.all_mids(self.world, self.now_ms()))
            self._mids_cache = (minute, mids)
        return dict(self._mids_cache[1])

    async def order_book(self, coin: str) -> OrderBook:
        if self.world.market(coin) is None:
            raise PayloadError(ReasonCode.UNKNOWN_COIN, f"no market {coin!r}")
        return parse_l2_book(payloads.l2_book(self.world.book(coin, self.now_ms())))

    # --- OrderGateway -------------------------------------------------------------------------
    async def place_order(self, order: OrderRequest) -> OrderResult:
        self._settle_triggers()
        previous = self.orders.answer(order.client_order_id)
        if previous is not None:
            return previous
        if order.trigger_price is not None:
            result = self._rest_trigger(order)
        else:
            result = self._execute(order)
        self.orders.answers[order.client_order_id] = result
        return result

    async def order_by_client_id(self, client_order_id: str) -> OrderResult | None:
        self._settle_triggers()
        return self.orders.answer(client_order_id)

    async def cancel_order(self, client_order_id: str) -> bool:
        """Cancel a resting stop; False when there is nothing resting under that id."""
        self._settle_triggers()
        return self.orders.cancel(client_order_id)

    def _rest_trigger(self, order: OrderRequest) -> OrderResult:
        market = self.world.market(order.coin)
        if market is None:
            return reject(order, ReasonCode.UNKNOWN_COIN, f"no market {order.coin!r}")
        probe = OrderRequest(
            order.client_order_id,
            order.coin,
            order.is_buy,
            order.size,
            order.trigger_price or 0.0,
            order.order_type,
            reduce_only=True,
        )
        rejected = validate_order(probe, market, probe.limit_price)
        if rejected is not None:
            return rejected
        if not order.reduce_only:
            return reject(order, ReasonCode.ORDER_REJECTED, "stops must be reduce-only")
        assert order.trigger_price is not None
        self.orders.resting[order.client_order_id] = PendingTrigger(
            order.client_order_id,
            order.coin,
            order.is_buy,
            order.size,
            order.trigger_price,
            self.now_ms(),
        )
        return OrderResult(order.client_order_id, OrderStatus.OPEN, reason="resting")

    def _settle_triggers(self) -> None:
        """Fill every resting stop the bars since it was last checked went through."""
        if not self.orders.resting:
            return
        now = self.now_ms()
        minute = self.world.paths.minute_of(now)
        if minute == self._settled_minute:  # bars complete once a minute: nothing new yet
            return
        self._settled_minute = minute
        for cid in sorted(self.orders.resting):
            stop = self.orders.resting[cid]
            fill = settle_trigger(self.world, stop, now)
            if fill is None:
                continue
            del self.orders.resting[cid]
            market = self.world.market(stop.coin)
            assert market is not None
            self.orders.answers[cid] = self.account.stop_out(
                cid,
                self._venue_id(cid),
                stop.coin,
                stop.is_buy,
                stop.size,
                lambda _size, price=fill.price: price,
                fill.time_ms,
                market,
            )

    # --- AccountState -------------------------------------------------------------------------
    async def account_snapshot(self) -> AccountSnapshot:
        self._settle_triggers()
        now = self.now_ms()
        return self.account.snapshot(lambda coin: self.world.price_at(coin, now), now)

    def account_value(self, now_ms: int | None = None) -> float:
        """Collateral plus unrealised PnL at the last completed minute's price."""
        now = self.now_ms() if now_ms is None else now_ms
        return self.account.value(lambda coin: self.world.price_at(coin, now))

    # --- execution ----------------------------------------------------------------------------
    def _venue_id(self, client_order_id: str) -> str:
        """Unique across restarts of this simulator, like a real venue's ids: derived from the
        (unique) client order id, numbered for readability."""
        self._next_order_id += 1
        return f"{self._next_order_id - 1}-{client_order_id.removeprefix('0x')[:16]}"

    def _execute(self, order: OrderRequest) -> OrderResult:
        market = self.world.market(order.coin)
        if market is None:
            return reject(order, ReasonCode.UNKNOWN_COIN, f"no market {order.coin!r}")
        rejected = validate_order(order, market, order.limit_price)
        if rejected is not None:
            return rejected
        size = order.size
        if order.reduce_only:
            size = self.account.reducible(order.coin, order.is_buy, size, market)
            if size <= 0:
                return reject(
                    order, ReasonCode.ORDER_REJECTED, "reduce-only order would increase position"
                )
        now = self.now_ms()
        book = self.world.book(order.coin, now)
        taken = take_liquidity(book, order.is_buy, size, order.limit_price)
        venue_id = self._venue_id(order.client_order_id)
        fills: list[VenueFill] = []
        for i, (price, qty) in enumerate(taken):
            qty = round(qty, market.sz_decimals)
            if qty <= 0:
                continue
            fee = self.account.fee(qty, price)
            fills.append(VenueFill(f"{venue_id}-{i}", price, qty, fee, now))
            self.account.book_fill(order.coin, order.is_buy, qty, price, fee, market.sz_decimals)
        filled = round(sum(f.size for f in fills), market.sz_decimals)
        if filled <= 0:
            return OrderResult(
                order.client_order_id,
                OrderStatus.CANCELLED,
                venue_order_id=venue_id,
                reason=ReasonCode.ORDER_NOT_FILLED.value,
            )
        complete = filled >= round(size, market.sz_decimals)
        return OrderResult(
            client_order_id=order.client_order_id,
            status=OrderStatus.FILLED if complete else OrderStatus.PARTIAL,
            filled_size=filled,
            avg_price=sum(f.price * f.size for f in fills) / filled,
            fee=sum(f.fee for f in fills),
            venue_order_id=venue_id,
            fills=tuple(fills),
            reason=(ReasonCode.ORDER_FILLED if complete else ReasonCode.ORDER_PARTIAL).value,
        )
