"""Price fallback chain (SPEC §E9): book walked to size → mid → last trade → leader fill → skip."""

from __future__ import annotations

import math

import pytest

from tailgate.domain.models import Level, OrderBook
from tailgate.domain.pricing import PriceQuote, PriceSource, book_mid, book_vwap, resolve_price
from tailgate.domain.reasons import ReasonCode

NOW = 1_700_000_000_000
FRESH = 5_000  # max age of the last trade and the leader fill in these tests
NAN = math.nan
INF = math.inf


def book(bids=(), asks=()) -> OrderBook:
    return OrderBook(
        coin="ETH",
        time_ms=NOW,
        bids=tuple(Level(p, s) for p, s in bids),
        asks=tuple(Level(p, s) for p, s in asks),
    )


BOOK = book(bids=[(99.0, 1.0), (98.0, 3.0)], asks=[(100.0, 1.0), (101.0, 2.0)])


def price(**kw) -> PriceQuote | ReasonCode:
    args = {
        "is_buy": True,
        "size": 2.0,
        "now_ms": NOW,
        "max_last_trade_age_ms": FRESH,
        "max_leader_fill_age_ms": FRESH,
    }
    return resolve_price(**(args | kw))


# --- the book walk -------------------------------------------------------------------------


def test_buy_2_walks_asks_100x1_101x2_to_vwap_100_5():
    assert book_vwap(BOOK, is_buy=True, size=2.0) == (100.5, 2)


def test_sell_2_walks_bids_99x1_98x3_to_vwap_98_5():
    assert book_vwap(BOOK, is_buy=False, size=2.0) == (98.5, 2)


def test_size_within_the_top_level_is_the_top_price():
    assert book_vwap(BOOK, is_buy=True, size=0.5) == (100.0, 1)


def test_exact_depth_is_enough():
    # 1 × 100 + 2 × 101 = 302 over 3 coins
    assert book_vwap(BOOK, is_buy=True, size=3.0) == (302 / 3, 2)


def test_too_thin_a_book_gives_no_vwap():
    assert book_vwap(BOOK, is_buy=True, size=3.5) is None


def test_float_crumbs_of_depth_still_fill():
    thin = book(asks=[(10.0, 0.1), (10.0, 0.2)])
    assert book_vwap(thin, is_buy=True, size=0.3) == (pytest.approx(10.0), 2)


@pytest.mark.parametrize("size", [0.0, -1.0, NAN, INF])
def test_unusable_size_gives_no_vwap(size):
    assert book_vwap(BOOK, is_buy=True, size=size) is None


def test_nan_and_non_positive_levels_are_skipped():
    dirty = book(
        asks=[(NAN, 5.0), (100.0, 1.0), (0.0, 9.0), (100.5, -1.0), (101.0, NAN), (102.0, 1.0)]
    )
    assert book_vwap(dirty, is_buy=True, size=2.0) == (101.0, 2)


def test_book_mid_uses_best_usable_levels_and_refuses_a_crossed_book():
    assert book_mid(BOOK) == 99.5
    assert book_mid(book(bids=[(NAN, 1.0), (99.0, 1.0)], asks=[(101.0, 1.0)])) == 100.0
    assert book_mid(book(bids=[(101.0, 1.0)], asks=[(100.0, 1.0)])) is None
    assert book_mid(book(bids=[(99.0, 1.0)])) is None


# --- the chain -------------------------------------------------------------------------------


def test_book_first_when_deep_enough():
    q = price(book=BOOK, mid=99.7, last_trade_price=99.0, last_trade_ms=NOW)
    assert q == PriceQuote(100.5, PriceSource.BOOK, "vwap of 2 over 2 level(s)")


def test_thin_book_falls_to_venue_mid():
    q = price(size=10.0, book=BOOK, mid=99.7)
    assert isinstance(q, PriceQuote)
    assert (q.price, q.source) == (99.7, PriceSource.MID)
    assert q.detail == "venue mid; passed over book: too thin for 10.0"


def test_thin_book_without_venue_mid_uses_its_own_top_of_book_mid():
    q = price(size=10.0, book=BOOK, mid=None)
    assert isinstance(q, PriceQuote)
    assert (q.price, q.source, q.detail.split(";")[0]) == (99.5, PriceSource.MID, "top-of-book mid")


@pytest.mark.parametrize("bad", [None, NAN, INF, 0.0, -3.0])
def test_unusable_mid_falls_to_a_fresh_last_trade(bad):
    q = price(mid=bad, last_trade_price=99.9, last_trade_ms=NOW - 1_200)
    assert isinstance(q, PriceQuote)
    assert (q.price, q.source) == (99.9, PriceSource.LAST_TRADE)
    assert q.detail.startswith("1200 ms old; passed over book: none, mid: ")


def test_last_trade_exactly_at_the_bound_is_fresh():
    q = price(last_trade_price=99.9, last_trade_ms=NOW - FRESH)
    assert isinstance(q, PriceQuote) and q.source is PriceSource.LAST_TRADE


def test_stale_last_trade_falls_to_a_fresh_leader_fill():
    q = price(
        last_trade_price=99.9,
        last_trade_ms=NOW - FRESH - 1,
        leader_fill_price=100.2,
        leader_fill_ms=NOW - 300,
    )
    assert q == PriceQuote(
        100.2,
        PriceSource.LEADER_FILL,
        "300 ms old; passed over book: none, mid: None, last_trade: 5001 ms old > 5000",
    )


def test_last_trade_without_a_time_is_not_trusted():
    q = price(last_trade_price=99.9, leader_fill_price=100.2, leader_fill_ms=NOW)
    assert isinstance(q, PriceQuote) and q.source is PriceSource.LEADER_FILL
    assert "last_trade: no time" in q.detail


def test_a_time_far_in_the_future_is_not_trusted_a_small_lead_is():
    assert price(leader_fill_price=100.2, leader_fill_ms=NOW + FRESH + 1) is (
        ReasonCode.PRICE_UNAVAILABLE
    )
    q = price(leader_fill_price=100.2, leader_fill_ms=NOW + 50)
    assert isinstance(q, PriceQuote) and q.price == 100.2


@pytest.mark.parametrize("bad", [NAN, INF, -INF, 0.0, -100.0])
def test_unusable_leader_fill_price_skips(bad):
    assert price(leader_fill_price=bad, leader_fill_ms=NOW) is ReasonCode.PRICE_UNAVAILABLE


def test_stale_leader_fill_skips_with_price_unavailable():
    q = price(leader_fill_price=100.2, leader_fill_ms=NOW - FRESH - 1)
    assert q is ReasonCode.PRICE_UNAVAILABLE


def test_nothing_at_all_is_price_unavailable():
    assert price() is ReasonCode.PRICE_UNAVAILABLE


def test_separate_bounds_for_last_trade_and_leader_fill():
    kw = {"last_trade_price": 99.9, "last_trade_ms": NOW - 2_000}
    assert price(max_last_trade_age_ms=1_000, **kw) is ReasonCode.PRICE_UNAVAILABLE
    q = price(
        max_last_trade_age_ms=1_000, leader_fill_price=100.0, leader_fill_ms=NOW - 2_000, **kw
    )
    assert isinstance(q, PriceQuote) and q.source is PriceSource.LEADER_FILL


def test_unusable_size_skips_the_book_but_not_the_mid():
    q = price(size=NAN, book=BOOK, mid=99.7)
    assert isinstance(q, PriceQuote) and q.source is PriceSource.MID


def test_empty_book_and_nothing_else_is_price_unavailable():
    assert price(book=book()) is ReasonCode.PRICE_UNAVAILABLE


def test_sell_walks_the_bids():
    q = price(is_buy=False, size=2.0, book=BOOK)
    assert isinstance(q, PriceQuote) and (q.price, q.source) == (98.5, PriceSource.BOOK)
