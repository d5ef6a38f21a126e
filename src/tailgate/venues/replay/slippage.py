"""The backtest fill model of SPEC §B1: a per-coin base slippage that grows with order size.

    slippage = base(coin) × (1 + size_usd / 100,000 × 0.5)

base: BTC 0.02 %, ETH 0.03 %, SOL 0.08 %, any other coin 0.15 %. A buy fills at
price × (1 + slippage), a sell at price × (1 − slippage). A $100k BTC order pays
0.02 % × 1.5 = 0.03 %.

The replay venue has no real order book, so this formula *is* the book: `synthetic_book` lays
out levels whose walk costs (to the venue's price grid) what the formula charges, so an engine
that reads the book sees the cost it will be charged.
"""

from __future__ import annotations

from collections.abc import Mapping

from tailgate.domain.models import Level, Market, OrderBook
from tailgate.domain.precision import round_price, round_size

__all__ = [
    "BASE_SLIPPAGE",
    "BOOK_LEVELS",
    "BOOK_LEVEL_USD",
    "DEFAULT_BASE_SLIPPAGE",
    "SIZE_SLIPPAGE_FACTOR",
    "SIZE_SLIPPAGE_UNIT_USD",
    "base_slippage",
    "fill_price",
    "marginal_slippage",
    "slippage",
    "synthetic_book",
]

BASE_SLIPPAGE: Mapping[str, float] = {"BTC": 0.0002, "ETH": 0.0003, "SOL": 0.0008}
DEFAULT_BASE_SLIPPAGE = 0.0015  # every other coin: 0.15 %
SIZE_SLIPPAGE_UNIT_USD = 100_000.0  # slippage grows by SIZE_SLIPPAGE_FACTOR per this much size
SIZE_SLIPPAGE_FACTOR = 0.5


def base_slippage(coin: str) -> float:
    """The coin's slippage for a vanishingly small order (fraction)."""
    return BASE_SLIPPAGE.get(coin, DEFAULT_BASE_SLIPPAGE)


def slippage(coin: str, size_usd: float) -> float:
    """Average slippage (fraction) of a market order of `size_usd` notional."""
    if size_usd < 0:
        raise ValueError(f"size_usd must be >= 0, got {size_usd!r}")
    return base_slippage(coin) * (1.0 + size_usd / SIZE_SLIPPAGE_UNIT_USD * SIZE_SLIPPAGE_FACTOR)


def marginal_slippage(coin: str, filled_usd: float) -> float:
    """Slippage of the next dollar once `filled_usd` has filled: the derivative of
    size × slippage(size), so that a book priced this way averages to `slippage`."""
    return base_slippage(coin) * (
        1.0 + 2.0 * filled_usd / SIZE_SLIPPAGE_UNIT_USD * SIZE_SLIPPAGE_FACTOR
    )


def fill_price(coin: str, price: float, is_buy: bool, size_usd: float) -> float:
    """Where a market order of `size_usd` fills against reference `price` (not yet rounded)."""
    slip = slippage(coin, size_usd)
    return price * (1.0 + slip) if is_buy else price * (1.0 - slip)


BOOK_LEVELS = 20  # per side
BOOK_LEVEL_USD = 25_000.0  # notional per level: 20 levels hold $500k a side


def synthetic_book(coin: str, market: Market, price: float, time_ms: int) -> OrderBook:
    """A book around `price` whose walk reproduces `slippage`: level i holds BOOK_LEVEL_USD and
    is priced at the marginal slippage of the middle of its notional band (exact for a linear
    marginal), on the venue's grid (asks rounded up, bids down: never better than the model).
    """
    lot = 10.0**-market.sz_decimals
    bids: list[Level] = []
    asks: list[Level] = []
    for i in range(BOOK_LEVELS):
        slip = marginal_slippage(coin, (i + 0.5) * BOOK_LEVEL_USD)
        ask = round_price(price * (1.0 + slip), market, is_buy=False)
        bid = round_price(price * (1.0 - slip), market, is_buy=True)
        if asks and ask <= asks[-1].price:  # the grid merged two levels: keep them apart
            ask = round_price(asks[-1].price * (1.0 + 1e-5), market, is_buy=False)
        if bids and bid >= bids[-1].price:
            bid = round_price(bids[-1].price * (1.0 - 1e-5), market, is_buy=True)
        asks.append(Level(ask, max(round_size(BOOK_LEVEL_USD / ask, market), lot)))
        bids.append(Level(bid, max(round_size(BOOK_LEVEL_USD / bid, market), lot)))
    return OrderBook(coin=coin, time_ms=time_ms, bids=tuple(bids), asks=tuple(asks))
