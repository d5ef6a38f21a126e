"""The synthetic L2 book: spread, depth, venue precision, and slippage that grows with size."""

from __future__ import annotations

import pytest

from tailgate.domain.models import MS_PER_MINUTE, OrderBook
from tailgate.domain.precision import round_price
from tailgate.venues.sim import SimWorld
from tailgate.venues.sim.book import build_book, fill_ioc
from tailgate.venues.sim.coins import DEFAULT_COINS, market_of


def _usd(book: OrderBook, levels: int = 1) -> float:
    return sum(lv.price * lv.size for lv in book.bids[:levels])


@pytest.mark.parametrize("spec", DEFAULT_COINS, ids=lambda s: s.coin)
def test_book_shape_spread_grid_and_lots(spec) -> None:  # type: ignore[no-untyped-def]
    market = market_of(spec)
    mid = spec.start_price
    book = build_book(spec, market, mid, 0)
    assert len(book.bids) >= 10 and len(book.asks) >= 10
    half = spec.half_spread_bps / 1e4
    eps = 1e-12 * mid  # the grid value may sit a float ulp from mid × (1 ± half)
    assert book.bids[0].price <= mid * (1 - half) + eps
    assert book.asks[0].price >= mid * (1 + half) - eps
    spread = (book.asks[0].price - book.bids[0].price) / mid
    assert spread < 2 * half + 4e-4  # within a tick or two of the target
    bids = [lv.price for lv in book.bids]
    asks = [lv.price for lv in book.asks]
    assert bids == sorted(bids, reverse=True) and len(set(bids)) == len(bids)
    assert asks == sorted(asks) and len(set(asks)) == len(asks)
    gaps = [a - b for a, b in zip(asks[1:], asks[:-1], strict=False)]
    assert gaps[-1] > gaps[0]  # spacing grows away from the touch
    for lv in (*book.bids, *book.asks):
        assert round_price(lv.price, market) == lv.price
        lots = lv.size * 10**market.sz_decimals
        assert lv.size > 0 and abs(lots - round(lots)) < 1e-6
    assert book.bids[-1].price * book.bids[-1].size > book.bids[0].price * book.bids[0].size


def test_btc_is_deepest_and_stress_thins_the_book() -> None:
    books = {s.coin: build_book(s, market_of(s), s.start_price, 0) for s in DEFAULT_COINS}
    assert max(books, key=lambda c: _usd(books[c], 10)) == "BTC"
    btc = DEFAULT_COINS[0]
    calm = build_book(btc, market_of(btc), btc.start_price, 0, vol_multiplier=0.6)
    stressed = build_book(btc, market_of(btc), btc.start_price, 0, vol_multiplier=1.8)
    assert _usd(stressed, 10) < 0.5 * _usd(calm, 10)


def test_slippage_grows_with_size_and_the_limit_caps_the_walk() -> None:
    spec = DEFAULT_COINS[2]  # SOL
    book = build_book(spec, market_of(spec), spec.start_price, 0)
    best = book.asks[0]
    filled, avg = fill_ioc(book, True, best.size / 2, book.asks[-1].price)
    assert (filled, avg) == (best.size / 2, best.price)
    averages = []
    for levels in (1, 3, 6, 12):
        size = sum(lv.size for lv in book.asks[:levels])
        filled, avg = fill_ioc(book, True, size, book.asks[-1].price)
        assert filled == pytest.approx(size)
        averages.append(avg)
    assert averages == sorted(averages) and averages[-1] > averages[0]
    limit = book.asks[2].price
    filled, avg = fill_ioc(book, True, 10**9, limit)
    assert filled == pytest.approx(sum(lv.size for lv in book.asks[:3])) and avg <= limit
    sold, sell_avg = fill_ioc(book, False, 10**9, book.bids[1].price)
    assert sold == pytest.approx(book.bids[0].size + book.bids[1].size)
    assert sell_avg >= book.bids[1].price
    assert fill_ioc(book, True, 1.0, book.bids[0].price) == (0.0, 0.0)


def test_world_book_is_fixed_within_a_minute_and_moves_with_the_price(world: SimWorld) -> None:
    t = world.start_ms + 5 * MS_PER_MINUTE
    a = world.book("ETH", t)
    b = world.book("ETH", t + 30_000)
    assert (a.bids, a.asks) == (b.bids, b.asks)
    later = world.book("ETH", t + 600 * MS_PER_MINUTE)
    assert later.bids != a.bids
    mid = world.price_at("ETH", t)
    assert a.bids[0].price < mid < a.asks[0].price
