"""`ReplayVenue` on small synthetic fills and bars: no look-ahead, IOC fills with the §B1
slippage model, venue checks, stops settled on bars, our account."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

from tailgate.backtest.data import Bars
from tailgate.domain.models import MS_PER_MINUTE, LeaderFill, Side
from tailgate.domain.reasons import ReasonCode
from tailgate.venues.protocols import (
    AccountState,
    LeaderFeed,
    MarketData,
    OrderGateway,
    OrderRequest,
    OrderStatus,
    PayloadError,
    VenuePosition,
)
from tailgate.venues.replay import ReplayData, ReplayVenue
from tailgate.venues.replay.leaders import ASSUMED_LEADER_LEVERAGE

T = TypeVar("T")
T0 = 1_735_689_600_000  # 2025-01-01T00:00Z
M = MS_PER_MINUTE
FEE = 0.00035


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def bars(coin: str, start: int, ohlc: list[tuple[float, float, float, float]]) -> Bars:
    return Bars(
        coin=coin,
        interval_ms=M,
        time_ms=[start + i * M for i in range(len(ohlc))],
        open=[b[0] for b in ohlc],
        high=[b[1] for b in ohlc],
        low=[b[2] for b in ohlc],
        close=[b[3] for b in ohlc],
        volume=[1.0] * len(ohlc),
    )


def flat(price: float, n: int) -> list[tuple[float, float, float, float]]:
    return [(price, price, price, price)] * n


def fill(leader: str, coin: str, t: int, *, start: float = 0.0, n: int = 0) -> LeaderFill:
    return LeaderFill(
        leader=leader,
        coin=coin,
        price=100_000.0 if coin == "BTC" else 10.0,
        size=1.0,
        is_buy=True,
        direction="Open Long",
        start_position=start,
        time_ms=t,
        order_id=n,
        fill_id=f"{leader}-{n}",
        closed_pnl=0.0,
        fee=1.0,
    )


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def make_venue(
    btc: list[tuple[float, float, float, float]] | None = None,
    fills: list[LeaderFill] | None = None,
    now: int = T0 + 5 * M,
    delay: int = M,
) -> tuple[ReplayVenue, Clock]:
    data = ReplayData(
        fills=fills or [],
        bars={
            "BTC": bars("BTC", T0, btc or flat(100_000.0, 30)),
            "ETH": bars("ETH", T0 + 10 * M, flat(3_000.0, 20)),
        },
        fill_delay_ms=delay,
    )
    clock = Clock(now)
    return ReplayVenue(data, clock), clock


def order(cid: str, size: float, limit: float, *, buy: bool = True, **kw: Any) -> OrderRequest:
    return OrderRequest(cid, kw.pop("coin", "BTC"), buy, size, limit, **kw)


# --- protocols and markets ------------------------------------------------------------------
def test_replay_venue_satisfies_every_venue_protocol():
    venue, _ = make_venue()
    for protocol in (LeaderFeed, MarketData, OrderGateway, AccountState):
        assert isinstance(venue, protocol)


def test_markets_are_the_coins_with_bars_with_hyperliquid_facts():
    venue, _ = make_venue(fills=[fill("0xa", "DOGE", T0)])
    markets = {m.coin: (m.sz_decimals, m.max_leverage) for m in run(venue.markets())}
    assert markets == {"BTC": (5, 40), "ETH": (4, 25)}


# --- no look-ahead: prices ----------------------------------------------------------------
def test_mids_are_the_last_closed_bar_never_the_forming_one():
    btc = [(100.0, 100.0, 100.0, 100.0), (100.0, 200.0, 100.0, 200.0), *flat(300.0, 5)]
    venue, clock = make_venue(btc=btc, now=T0 + M - 1)
    assert run(venue.mids()) == {}  # the first bar has not closed yet
    clock.now = T0 + M
    assert run(venue.mids()) == {"BTC": 100.0}
    clock.now = T0 + 2 * M - 1  # bar 1 (close 200) is still forming
    assert run(venue.mids()) == {"BTC": 100.0}
    clock.now = T0 + 2 * M
    assert run(venue.mids()) == {"BTC": 200.0}


def test_a_coin_without_a_closed_bar_is_absent_from_mids():
    venue, clock = make_venue(now=T0 + 10 * M)
    assert set(run(venue.mids())) == {"BTC"}
    clock.now = T0 + 11 * M
    assert set(run(venue.mids())) == {"BTC", "ETH"}


def test_order_book_brackets_the_last_close_and_refuses_unknown_coins():
    venue, _ = make_venue()
    book = run(venue.order_book("BTC"))
    assert book.bids[0].price < 100_000.0 < book.asks[0].price
    with pytest.raises(PayloadError) as err:
        run(venue.order_book("DOGE"))
    assert err.value.reason is ReasonCode.UNKNOWN_COIN


# --- no look-ahead: leader fills ----------------------------------------------------------
def test_a_minute_stamped_fill_is_served_only_once_its_minute_is_over():
    f = fill("0xa", "BTC", T0 + 2 * M)
    venue, clock = make_venue(fills=[f], now=T0 + 2 * M)
    assert run(venue.leader_fills("0xa", T0, T0 + 10 * M)).fills == []
    clock.now = T0 + 3 * M - 1
    assert run(venue.leader_fills("0xa", T0, T0 + 10 * M)).fills == []
    clock.now = T0 + 3 * M
    page = run(venue.leader_fills("0xa", T0, T0 + 10 * M))
    assert page.fills == [f] and page.fills[0] is f and page.rejects == []


def test_leader_fills_window_is_start_inclusive_end_exclusive_and_oldest_first():
    fs = [fill("0xa", "BTC", T0 + i * M, start=float(i), n=i) for i in (3, 1, 2)]
    venue, _ = make_venue(fills=fs, delay=0, now=T0 + 20 * M)
    got = run(venue.leader_fills("0xa", T0 + M, T0 + 3 * M)).fills
    assert [f.time_ms for f in got] == [T0 + M, T0 + 2 * M]
    assert run(venue.leader_fills("0xnobody", T0, T0 + 20 * M)).fills == []


def test_fills_after_now_are_never_served():
    fs = [fill("0xa", "BTC", T0, n=1), fill("0xa", "BTC", T0 + 10 * M, start=1.0, n=2)]
    venue, _ = make_venue(fills=fs, delay=0, now=T0 + 5 * M)
    got = run(venue.leader_fills("0xa", T0, T0 + 60 * M)).fills
    assert [f.fill_id for f in got] == ["0xa-1"]


def test_fills_in_coins_without_bars_stay_in_the_feed():
    venue, _ = make_venue(fills=[fill("0xa", "DOGE", T0)], delay=0)
    assert [f.coin for f in run(venue.leader_fills("0xa", T0, T0 + M)).fills] == ["DOGE"]


def test_leader_state_holds_only_known_fills():
    fs = [fill("0xa", "BTC", T0, n=1), fill("0xa", "BTC", T0 + 10 * M, start=1.0, n=2)]
    venue, clock = make_venue(fills=fs, delay=0, now=T0 + 5 * M)
    state = run(venue.leader_state("0xa"))
    (pos,) = state.positions
    assert (pos.side, pos.size, pos.entry_price) == (Side.LONG, 1.0, 100_000.0)
    assert state.account_value == pytest.approx(100_000.0 / ASSUMED_LEADER_LEVERAGE - 1.0)
    assert state.time_ms == T0 + 5 * M
    clock.now = T0 + 10 * M
    assert run(venue.leader_state("0xa")).positions[0].size == 2.0
    empty = run(venue.leader_state("0xnobody"))
    assert (empty.account_value, empty.positions) == (0.0, ())


def test_leaderboard_lists_only_leaders_with_known_fills():
    fs = [fill("0xa", "BTC", T0, n=1), fill("0xb", "BTC", T0 + 10 * M, n=2)]
    venue, clock = make_venue(fills=fs, delay=0, now=T0 + 5 * M)
    assert [e.leader for e in run(venue.leaderboard(30))] == ["0xa"]
    clock.now = T0 + 10 * M
    rows = run(venue.leaderboard(7))
    assert sorted(e.leader for e in rows) == ["0xa", "0xb"]
    assert all(e.window_days == 7 and e.pnl == pytest.approx(-1.0) for e in rows)
    with pytest.raises(ValueError):
        run(venue.leaderboard(14))


def test_leader_portfolio_starts_at_the_first_known_fill():
    venue, clock = make_venue(fills=[fill("0xa", "BTC", T0)], delay=M, now=T0 + M - 1)
    assert run(venue.leader_portfolio("0xa")) == []
    clock.now = T0 + M
    assert run(venue.leader_portfolio("0xa")) == [(T0 + M, pytest.approx(33_332.333, rel=1e-6))]


# --- IOC orders -------------------------------------------------------------------------------
def test_btc_100k_buy_fills_at_close_plus_0_03_percent_with_fee():
    venue, _ = make_venue()
    result = run(venue.place_order(order("c1", 1.0, 101_000.0)))
    assert result.status is OrderStatus.FILLED
    assert result.reason == ReasonCode.ORDER_FILLED.value
    assert result.avg_price == 100_030.0
    assert result.fee == pytest.approx(100_030.0 * FEE)
    assert result.fills[0].fill_id.startswith(result.venue_order_id or "?")
    assert "c1" in result.fills[0].fill_id


def test_btc_sell_fills_below_the_close():
    venue, _ = make_venue()
    result = run(venue.place_order(order("c1", 1.0, 99_000.0, buy=False)))
    assert result.avg_price == 99_970.0


def test_a_limit_the_model_price_would_breach_does_not_fill():
    venue, _ = make_venue()
    result = run(venue.place_order(order("c1", 1.0, 100_020.0)))
    assert result.status is OrderStatus.CANCELLED
    assert result.reason == ReasonCode.ORDER_NOT_FILLED.value
    assert run(venue.account_snapshot()).positions == ()


@pytest.mark.parametrize(
    ("size", "limit", "code"),
    [
        (0.000001, 101_000.0, ReasonCode.INVALID_SIZE),
        (1.0, 100_500.5, ReasonCode.INVALID_PRICE),
        (0.00009, 101_000.0, ReasonCode.SIZE_BELOW_VENUE_MINIMUM),
    ],
)
def test_venue_checks_reject_off_lot_off_tick_and_tiny_orders(size, limit, code):
    venue, _ = make_venue()
    result = run(venue.place_order(order("c1", size, limit)))
    assert result.status is OrderStatus.REJECTED
    assert result.reason.split(":")[0] == code.value


def test_unknown_coin_and_missing_price_are_rejected():
    venue, _ = make_venue(now=T0 + 5 * M)
    doge = run(venue.place_order(order("c1", 100.0, 1.0, coin="DOGE")))
    assert doge.reason.startswith(ReasonCode.UNKNOWN_COIN.value)
    eth = run(venue.place_order(order("c2", 1.0, 3_100.0, coin="ETH")))  # no ETH bar closed
    assert eth.reason.startswith(ReasonCode.NO_PRICE.value)


def test_reduce_only_cannot_increase_and_is_clipped_to_the_position():
    venue, _ = make_venue()
    up = run(venue.place_order(order("r1", 1.0, 101_000.0, reduce_only=True)))
    assert up.status is OrderStatus.REJECTED
    run(venue.place_order(order("c1", 0.5, 101_000.0)))
    down = run(venue.place_order(order("r2", 2.0, 99_000.0, buy=False, reduce_only=True)))
    assert (down.status, down.filled_size) == (OrderStatus.FILLED, 0.5)
    assert run(venue.account_snapshot()).positions == ()


def test_a_duplicate_client_order_id_returns_the_first_result_and_never_trades_again():
    venue, _ = make_venue()
    first = run(venue.place_order(order("c1", 1.0, 101_000.0)))
    again = run(venue.place_order(order("c1", 3.0, 101_000.0)))
    assert again is first
    assert run(venue.order_by_client_id("c1")) is first
    assert run(venue.order_by_client_id("nope")) is None
    (pos,) = run(venue.account_snapshot()).positions
    assert pos.size == 1.0


def test_account_snapshot_marks_positions_at_the_last_close():
    btc = [*flat(100_000.0, 5), *flat(101_000.0, 5)]
    venue, clock = make_venue(btc=btc, now=T0 + 5 * M)
    run(venue.place_order(order("c1", 1.0, 101_000.0)))
    clock.now = T0 + 6 * M
    snap = run(venue.account_snapshot())
    fee = 100_030.0 * FEE
    assert snap.account_value == pytest.approx(100_000.0 - fee + (101_000.0 - 100_030.0))
    assert snap.positions == (VenuePosition("BTC", Side.LONG, 1.0, 100_030.0),)
    assert snap.time_ms == T0 + 6 * M


def test_restore_account_hands_back_cash_and_positions():
    venue, _ = make_venue()
    venue.restore_account(50_000.0, [VenuePosition("BTC", Side.SHORT, 0.5, 90_000.0)])
    snap = run(venue.account_snapshot())
    assert snap.positions == (VenuePosition("BTC", Side.SHORT, 0.5, 90_000.0),)
    assert snap.account_value == pytest.approx(50_000.0 - 0.5 * (100_000.0 - 90_000.0))


# --- stops ----------------------------------------------------------------------------------
def stop(cid: str, size: float, trigger: float, *, buy: bool = False) -> OrderRequest:
    limit = 1.0 if not buy else 1_000_000.0
    return OrderRequest(cid, "BTC", buy, size, limit, reduce_only=True, trigger_price=trigger)


def test_a_stop_touched_inside_a_bar_fills_at_the_stop_price_plus_slippage():
    btc = [*flat(100_000.0, 5), (100_000.0, 100_000.0, 98_500.0, 99_500.0), *flat(99_500.0, 5)]
    venue, clock = make_venue(btc=btc, now=T0 + 5 * M)
    run(venue.place_order(order("c1", 1.0, 101_000.0)))
    assert run(venue.place_order(stop("s1", 1.0, 99_000.0))).status is OrderStatus.OPEN
    clock.now = T0 + 6 * M - 1  # the touching bar is still forming: not known yet
    assert run(venue.order_by_client_id("s1")).status is OrderStatus.OPEN
    clock.now = T0 + 8 * M
    result = run(venue.order_by_client_id("s1"))
    # 99,000 × (1 − 0.02 % × (1 + 0.99 × 0.5)) = 98,970.4 → the grid, against us: 98,970
    assert (result.status, result.avg_price) == (OrderStatus.FILLED, 98_970.0)
    assert result.fills[0].time_ms == T0 + 6 * M  # when that bar closed
    assert run(venue.account_snapshot()).positions == ()


def test_a_stop_gapped_through_fills_at_the_bar_open_plus_slippage():
    btc = [*flat(100_000.0, 5), (98_000.0, 98_200.0, 97_900.0, 98_100.0), *flat(98_100.0, 5)]
    venue, clock = make_venue(btc=btc, now=T0 + 5 * M)
    run(venue.place_order(order("c1", 1.0, 101_000.0)))
    run(venue.place_order(stop("s1", 1.0, 99_000.0)))
    clock.now = T0 + 7 * M
    result = run(venue.order_by_client_id("s1"))
    # 98,000 × (1 − 0.02 % × (1 + 0.98 × 0.5)) = 97,970.8 → 97,970
    assert (result.status, result.avg_price) == (OrderStatus.FILLED, 97_970.0)


def test_a_buy_stop_protects_a_short():
    btc = [*flat(100_000.0, 5), (100_000.0, 101_500.0, 99_900.0, 101_000.0), *flat(101_000.0, 5)]
    venue, clock = make_venue(btc=btc, now=T0 + 5 * M)
    run(venue.place_order(order("c1", 1.0, 99_000.0, buy=False)))
    run(venue.place_order(stop("s1", 1.0, 101_000.0, buy=True)))
    clock.now = T0 + 7 * M
    result = run(venue.order_by_client_id("s1"))
    # 101,000 × (1 + 0.02 % × 1.505) = 101,030.4 → rounded up: 101,031
    assert (result.status, result.avg_price) == (OrderStatus.FILLED, 101_031.0)


def test_bars_before_the_stop_was_placed_never_trigger_it():
    btc = [(100_000.0, 100_000.0, 90_000.0, 100_000.0), *flat(100_000.0, 10)]
    venue, clock = make_venue(btc=btc, now=T0 + 5 * M)
    run(venue.place_order(order("c1", 1.0, 101_000.0)))
    run(venue.place_order(stop("s1", 1.0, 99_000.0)))
    clock.now = T0 + 10 * M
    assert run(venue.order_by_client_id("s1")).status is OrderStatus.OPEN


def test_a_cancelled_stop_never_fills_and_cancelling_twice_is_false():
    btc = [*flat(100_000.0, 5), (100_000.0, 100_000.0, 98_000.0, 98_000.0), *flat(98_000.0, 5)]
    venue, clock = make_venue(btc=btc, now=T0 + 5 * M)
    run(venue.place_order(order("c1", 1.0, 101_000.0)))
    run(venue.place_order(stop("s1", 1.0, 99_000.0)))
    assert run(venue.cancel_order("s1")) is True
    assert run(venue.cancel_order("s1")) is False
    clock.now = T0 + 8 * M
    assert run(venue.order_by_client_id("s1")).status is OrderStatus.CANCELLED
    assert len(run(venue.account_snapshot()).positions) == 1


def test_a_stop_must_be_reduce_only_and_on_the_grid():
    venue, _ = make_venue()
    plain = OrderRequest("s1", "BTC", False, 1.0, 1.0, trigger_price=99_000.0)
    assert run(venue.place_order(plain)).status is OrderStatus.REJECTED
    off_tick = run(venue.place_order(stop("s2", 1.0, 99_000.5)))
    assert off_tick.reason.startswith(ReasonCode.INVALID_PRICE.value)


def test_a_stop_whose_position_is_gone_is_cancelled_when_it_triggers():
    btc = [*flat(100_000.0, 5), (100_000.0, 100_000.0, 98_000.0, 98_000.0), *flat(98_000.0, 5)]
    venue, clock = make_venue(btc=btc, now=T0 + 5 * M)
    run(venue.place_order(order("c1", 1.0, 101_000.0)))
    run(venue.place_order(stop("s1", 1.0, 99_000.0)))
    run(venue.place_order(order("c2", 1.0, 99_000.0, buy=False, reduce_only=True)))
    clock.now = T0 + 8 * M
    result = run(venue.order_by_client_id("s1"))
    assert (result.status, result.reason) == (OrderStatus.CANCELLED, "no position")
