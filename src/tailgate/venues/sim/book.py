"""A synthetic L2 book around the simulated price, and IOC fills against it.

Slippage is not a formula here: an order walks real levels, so the cost of size emerges from the
book's depth — and the depth shrinks when the hidden regime turns violent, like a real venue's.
Levels sit on the venue's price grid and sizes on its lot, so whatever the engine reads here is
something it could have read from Hyperliquid.
"""

from __future__ import annotations

from dataclasses import dataclass

from tailgate.domain.models import Level, Market, OrderBook
from tailgate.domain.precision import price_decimals, round_price
from tailgate.venues.paper import take_liquidity  # one book walk for every paper venue
from tailgate.venues.sim.coins import CoinSpec
from tailgate.venues.sim.ids import unit_interval

__all__ = ["DEFAULT_BOOK_SHAPE", "BookShape", "build_book", "fill_ioc", "take_liquidity"]


@dataclass(frozen=True, slots=True)
class BookShape:
    """How levels are spaced and filled (the coin gives the scale: half-spread and depth)."""

    levels: int = 20  # per side
    step_half_spreads: float = 1.0  # level i sits (1 + step × i**growth) half-spreads from mid
    spacing_growth: float = 1.3  # > 1: levels spread out further from the touch
    size_growth: float = 0.35  # level i holds depth × (1 + size_growth × i)
    size_jitter: float = 0.3  # ± relative variation of a level's size


DEFAULT_BOOK_SHAPE = BookShape()


def _tick(price: float, market: Market) -> float:
    return 10.0 ** -price_decimals(price, market)


def _side(
    spec: CoinSpec,
    market: Market,
    mid: float,
    depth_scale: float,
    salt: int,
    is_bid: bool,
    shape: BookShape,
) -> tuple[Level, ...]:
    half_spread = spec.half_spread_bps / 10_000.0
    sign = -1.0 if is_bid else 1.0
    lot = 10.0**-market.sz_decimals
    levels: list[Level] = []
    previous: float | None = None
    for i in range(shape.levels):
        offset = half_spread * (1.0 + shape.step_half_spreads * i**shape.spacing_growth)
        # Bids round down, asks up: the touch never crosses the mid.
        price = round_price(mid * (1.0 + sign * offset), market, is_buy=is_bid)
        if previous is not None and (price >= previous if is_bid else price <= previous):
            price = round_price(previous + sign * _tick(previous, market), market, is_buy=is_bid)
        jitter = 1.0 + shape.size_jitter * (2.0 * unit_interval(salt, int(is_bid), i) - 1.0)
        usd = spec.depth_usd * depth_scale * (1.0 + shape.size_growth * i) * jitter
        lots = max(int(usd / price / lot), 1)
        levels.append(Level(price=price, size=round(lots * lot, market.sz_decimals)))
        previous = price
    return tuple(levels)


def build_book(
    spec: CoinSpec,
    market: Market,
    mid: float,
    time_ms: int,
    vol_multiplier: float = 1.0,
    salt: int = 0,
    shape: BookShape = DEFAULT_BOOK_SHAPE,
) -> OrderBook:
    """The book around `mid`; depth is divided by the regime's vol multiplier (thin when wild).

    `salt` makes the size jitter deterministic (the world passes seed, coin and minute).
    """
    depth_scale = 1.0 / max(vol_multiplier, 1e-6)
    return OrderBook(
        coin=spec.coin,
        time_ms=time_ms,
        bids=_side(spec, market, mid, depth_scale, salt, True, shape),
        asks=_side(spec, market, mid, depth_scale, salt, False, shape),
    )


def fill_ioc(book: OrderBook, is_buy: bool, size: float, limit_price: float) -> tuple[float, float]:
    """(filled size, average price) of an IOC order walking the book up to `limit_price`;
    (0.0, 0.0) when nothing is marketable."""
    taken = take_liquidity(book, is_buy, size, limit_price)
    filled = sum(q for _, q in taken)
    if filled <= 0:
        return 0.0, 0.0
    return filled, sum(p * q for p, q in taken) / filled
