"""What every simulated venue keeps of our account, and the order checks every venue makes.

The simulator and the replay of real history differ in how an order finds its price (a book
walk, a slippage model) and how a stop is touched (minute paths, bars); they keep our account
and judge an order's precision alike — here, once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from tailgate.domain.models import Market, OrderBook, Side
from tailgate.domain.precision import round_price
from tailgate.domain.reasons import ReasonCode
from tailgate.venues.hyperliquid.constants import MIN_ORDER_NOTIONAL_USD, TAKER_FEE_RATE
from tailgate.venues.protocols import (
    AccountSnapshot,
    OrderRequest,
    OrderResult,
    OrderStatus,
    VenueFill,
    VenuePosition,
)

__all__ = [
    "Holding",
    "PaperAccount",
    "PaperOrders",
    "execute_ioc",
    "reject",
    "take_liquidity",
    "validate_order",
]


@dataclass(slots=True)
class Holding:
    size: float  # signed coins
    entry: float


class PaperAccount:
    """Collateral, positions (average entry), realised PnL and fees of our simulated account."""

    def __init__(self, collateral: float, fee_rate: float = TAKER_FEE_RATE) -> None:
        self.collateral = collateral
        self.fee_rate = fee_rate
        self.holdings: dict[str, Holding] = {}
        self.realised_pnl = 0.0
        self.fees_paid = 0.0

    def restore(self, cash: float, positions: Iterable[VenuePosition]) -> None:
        """Rebuild the account after a restart of the process that held the venue (in paper
        mode the store is the account's truth)."""
        self.collateral = cash
        self.holdings = {p.coin: Holding(p.size * p.side.sign, p.entry_price) for p in positions}

    def book_fill(
        self, coin: str, is_buy: bool, qty: float, price: float, fee: float, decimals: int
    ) -> None:
        """Pay the fee; average the entry on an increase, realise PnL on a decrease."""
        signed = qty if is_buy else -qty
        self.collateral -= fee
        self.fees_paid += fee
        held = self.holdings.get(coin)
        if held is None or held.size == 0 or (held.size > 0) == is_buy:
            old = abs(held.size) if held else 0.0
            entry = (old * held.entry + qty * price) / (old + qty) if held else price
            self.holdings[coin] = Holding(
                round((held.size if held else 0.0) + signed, decimals), entry
            )
            return
        closing = min(qty, abs(held.size))
        pnl = closing * (price - held.entry) * (1.0 if held.size > 0 else -1.0)
        self.collateral += pnl
        self.realised_pnl += pnl
        remaining = round(held.size + signed, decimals)
        if remaining == 0:
            del self.holdings[coin]
        elif (remaining > 0) == (held.size > 0):
            held.size = remaining
        else:  # flipped through zero: the rest opens at this price
            self.holdings[coin] = Holding(remaining, price)

    def fee(self, size: float, price: float) -> float:
        return size * price * self.fee_rate

    def fill(
        self,
        client_order_id: str,
        venue_order_id: str,
        coin: str,
        is_buy: bool,
        size: float,
        price: float,
        time_ms: int,
        market: Market,
    ) -> OrderResult:
        """Book a fill of our order at one price and return the venue's answer for it."""
        fee = self.fee(size, price)
        self.book_fill(coin, is_buy, size, price, fee, market.sz_decimals)
        return OrderResult(
            client_order_id=client_order_id,
            status=OrderStatus.FILLED,
            filled_size=size,
            avg_price=price,
            fee=fee,
            venue_order_id=venue_order_id,
            fills=(VenueFill(f"{venue_order_id}-0", price, size, fee, time_ms),),
            reason=ReasonCode.ORDER_FILLED.value,
        )

    def stop_out(
        self,
        client_order_id: str,
        venue_order_id: str,
        coin: str,
        is_buy: bool,
        size: float,
        price_for: Callable[[float], float],
        time_ms: int,
        market: Market,
    ) -> OrderResult:
        """A triggered stop: reduce the position (never beyond it) at `price_for(size)`; if the
        position is already gone there is nothing to stop out."""
        size = self.reducible(coin, is_buy, size, market)
        if size <= 0:
            return OrderResult(client_order_id, OrderStatus.CANCELLED, reason="no position")
        return self.fill(
            client_order_id, venue_order_id, coin, is_buy, size, price_for(size), time_ms, market
        )

    def reducible(self, coin: str, is_buy: bool, size: float, market: Market) -> float:
        """How much a reduce-only order may trade: 0 when it faces no opposite position."""
        held = self.holdings.get(coin)
        if held is None or (held.size > 0) == is_buy:
            return 0.0
        return min(size, round(abs(held.size), market.sz_decimals))

    def value(self, price_of: Callable[[str], float | None]) -> float:
        """Collateral plus unrealised PnL at `price_of(coin)` (entry when there is no price)."""
        total = self.collateral
        for coin, h in self.holdings.items():
            price = price_of(coin)
            total += h.size * ((price if price is not None else h.entry) - h.entry)
        return total

    def snapshot(self, price_of: Callable[[str], float | None], now_ms: int) -> AccountSnapshot:
        positions = tuple(
            VenuePosition(coin=coin, side=Side.of(h.size), size=abs(h.size), entry_price=h.entry)
            for coin, h in sorted(self.holdings.items())
        )
        return AccountSnapshot(self.value(price_of), positions, now_ms)


R = TypeVar("R")


class PaperOrders(Generic[R]):
    """Our orders at a simulated venue, by client order id: the venue's answer to each (a
    duplicate id gets the first answer, as a real venue refuses a reused id), and the stops
    still resting (of the venue's own type `R`)."""

    def __init__(self) -> None:
        self.answers: dict[str, OrderResult] = {}
        self.resting: dict[str, R] = {}

    def answer(self, client_order_id: str) -> OrderResult | None:
        return self.answers.get(client_order_id)

    def cancel(self, client_order_id: str) -> bool:
        """Cancel a resting stop; False when nothing rests under that id."""
        if self.resting.pop(client_order_id, None) is None:
            return False
        self.answers[client_order_id] = OrderResult(
            client_order_id, OrderStatus.CANCELLED, reason="cancelled"
        )
        return True


def reject(order: OrderRequest, code: ReasonCode, detail: str) -> OrderResult:
    """A definitive venue rejection, its reason as `CODE: detail`."""
    return OrderResult(order.client_order_id, OrderStatus.REJECTED, reason=f"{code}: {detail}")


def validate_order(order: OrderRequest, market: Market, price: float) -> OrderResult | None:
    """The venue's precision and minimum checks at `price` (the limit, or a stop's trigger):
    a rejection, or None when the order is fine."""
    size = order.size
    lots = size * 10.0**market.sz_decimals
    if not (math.isfinite(size) and size > 0 and abs(lots - round(lots)) < 1e-6):
        return reject(
            order, ReasonCode.INVALID_SIZE, f"size {size!r} not a positive multiple of the lot"
        )
    if not (math.isfinite(price) and price > 0):
        return reject(order, ReasonCode.INVALID_PRICE, f"price {price!r}")
    if abs(round_price(price, market) - price) > 1e-9 * price:
        return reject(order, ReasonCode.INVALID_PRICE, f"price {price!r} not on the tick")
    if not order.reduce_only and size * price < MIN_ORDER_NOTIONAL_USD:
        return reject(
            order,
            ReasonCode.SIZE_BELOW_VENUE_MINIMUM,
            f"order value {size * price:.2f} below the ${MIN_ORDER_NOTIONAL_USD:.0f} minimum",
        )
    return None


def take_liquidity(
    book: OrderBook, is_buy: bool, size: float, limit_price: float
) -> list[tuple[float, float]]:
    """(price, size) taken per level by an IOC order, best level first, never beyond the limit."""
    taken: list[tuple[float, float]] = []
    remaining = size
    tolerance = size * 1e-12
    for level in book.asks if is_buy else book.bids:
        if remaining <= tolerance:
            break
        if (level.price > limit_price) if is_buy else (level.price < limit_price):
            break
        qty = min(remaining, level.size)
        taken.append((level.price, qty))
        remaining -= qty
    return taken


def execute_ioc(
    order: OrderRequest,
    market: Market,
    book: OrderBook,
    account: PaperAccount,
    venue_id: str,
    now_ms: int,
) -> OrderResult:
    """An IOC order against `book` for our paper `account`: the venue's checks, a reduce-only
    order clipped to the position, one fill per level taken up to the limit."""
    rejected = validate_order(order, market, order.limit_price)
    if rejected is not None:
        return rejected
    size = order.size
    if order.reduce_only:
        size = account.reducible(order.coin, order.is_buy, size, market)
        if size <= 0:
            return reject(
                order, ReasonCode.ORDER_REJECTED, "reduce-only order would increase position"
            )
    fills: list[VenueFill] = []
    for i, (price, qty) in enumerate(take_liquidity(book, order.is_buy, size, order.limit_price)):
        qty = round(qty, market.sz_decimals)
        if qty <= 0:
            continue
        fee = account.fee(qty, price)
        fills.append(VenueFill(f"{venue_id}-{i}", price, qty, fee, now_ms))
        account.book_fill(order.coin, order.is_buy, qty, price, fee, market.sz_decimals)
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
