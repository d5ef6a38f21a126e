"""The §B1 slippage model, with the spec's numbers."""

from __future__ import annotations

import pytest

from tailgate.venues.replay.slippage import (
    fill_price,
    marginal_slippage,
    slippage,
    synthetic_book,
)
from tailgate.venues.replay.venue import market_for


def test_btc_100k_order_pays_0_02_percent_times_1_5():
    assert slippage("BTC", 100_000) == pytest.approx(0.0003)


@pytest.mark.parametrize(
    ("coin", "base"), [("BTC", 0.0002), ("ETH", 0.0003), ("SOL", 0.0008), ("DOGE", 0.0015)]
)
def test_base_slippage_for_a_tiny_order(coin, base):
    assert slippage(coin, 0.0) == pytest.approx(base)


def test_sol_50k_order_pays_0_08_percent_times_1_25():
    assert slippage("SOL", 50_000) == pytest.approx(0.0008 * 1.25)


def test_other_coin_200k_order_pays_0_15_percent_times_2():
    assert slippage("HYPE", 200_000) == pytest.approx(0.003)


def test_buy_fills_above_and_sell_below_the_price():
    assert fill_price("BTC", 100_000.0, True, 100_000) == pytest.approx(100_030.0)
    assert fill_price("BTC", 100_000.0, False, 100_000) == pytest.approx(99_970.0)


def test_negative_size_is_refused():
    with pytest.raises(ValueError):
        slippage("BTC", -1.0)


def test_marginal_slippage_integrates_to_the_average():
    # Σ marginal × dS over [0, S] / S equals slippage(S): trapezoid over a linear function.
    size = 150_000.0
    avg = (marginal_slippage("ETH", 0.0) + marginal_slippage("ETH", size)) / 2
    assert avg == pytest.approx(slippage("ETH", size))


def _walk(levels, usd):
    """VWAP of taking `usd` notional from the levels (best first)."""
    left, cost, qty = usd, 0.0, 0.0
    for level in levels:
        take = min(level.size, left / level.price)
        cost += take * level.price
        qty += take
        left -= take * level.price
        if left <= 1e-9:
            break
    return cost / qty


def test_walking_the_synthetic_book_costs_what_the_model_charges():
    price = 3_000.0
    book = synthetic_book("ETH", market_for("ETH"), price, 0)
    tick = 0.1  # ETH at 3,000: 5 significant figures
    for usd in (25_000.0, 100_000.0, 300_000.0):
        buy = _walk(book.asks, usd)
        sell = _walk(book.bids, usd)
        assert buy == pytest.approx(price * (1 + slippage("ETH", usd)), abs=2 * tick)
        assert sell == pytest.approx(price * (1 - slippage("ETH", usd)), abs=2 * tick)


def test_synthetic_book_is_ordered_and_on_the_grid():
    book = synthetic_book("BTC", market_for("BTC"), 95_000.0, 0)
    asks = [lv.price for lv in book.asks]
    bids = [lv.price for lv in book.bids]
    assert asks == sorted(asks) and len(set(asks)) == len(asks)
    assert bids == sorted(bids, reverse=True) and len(set(bids)) == len(bids)
    assert bids[0] < 95_000.0 < asks[0]
    assert all(p == int(p) for p in asks + bids)  # BTC at 95k: integer prices
