"""SPEC §C2: several fills of one order → one leader trade; the action read from positions."""

from __future__ import annotations

import itertools

import pytest

from tailgate.domain.aggregation import TradeLeg, aggregate_fills, classify_fill_action
from tailgate.domain.models import Action, LeaderFill, Side

T0 = 1_700_000_000_000
_fill_ids = itertools.count(1)


def fill(
    *,
    size: float,
    price: float = 100.0,
    is_buy: bool = True,
    start: float = 0.0,
    time_ms: int = T0,
    order_id: int = 1,
    leader: str = "0xA",
    coin: str = "ETH",
    closed_pnl: float = 0.0,
) -> LeaderFill:
    return LeaderFill(
        leader=leader,
        coin=coin,
        price=price,
        size=size,
        is_buy=is_buy,
        direction="",
        start_position=start,
        time_ms=time_ms,
        order_id=order_id,
        fill_id=str(next(_fill_ids)),
        closed_pnl=closed_pnl,
    )


# --- classify_fill_action ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "legs"),
    [
        (0.0, 2.0, [TradeLeg(Action.OPEN, Side.LONG, 2.0)]),
        (0.0, -2.0, [TradeLeg(Action.OPEN, Side.SHORT, 2.0)]),
        (2.0, 3.0, [TradeLeg(Action.ADD, Side.LONG, 1.0)]),
        (-2.0, -3.0, [TradeLeg(Action.ADD, Side.SHORT, 1.0)]),
        (3.0, 1.0, [TradeLeg(Action.REDUCE, Side.LONG, 2.0)]),
        (-3.0, -1.0, [TradeLeg(Action.REDUCE, Side.SHORT, 2.0)]),
        (2.0, 0.0, [TradeLeg(Action.CLOSE, Side.LONG, 2.0)]),
        (-2.0, 0.0, [TradeLeg(Action.CLOSE, Side.SHORT, 2.0)]),
        (
            2.0,
            -3.0,
            [TradeLeg(Action.CLOSE, Side.LONG, 2.0), TradeLeg(Action.OPEN, Side.SHORT, 3.0)],
        ),
        (
            -2.0,
            1.0,
            [TradeLeg(Action.CLOSE, Side.SHORT, 2.0), TradeLeg(Action.OPEN, Side.LONG, 1.0)],
        ),
        (2.0, 2.0, []),
    ],
)
def test_classify_fill_action(start: float, end: float, legs: list[TradeLeg]):
    assert list(classify_fill_action(start, end)) == legs


# --- aggregate_fills --------------------------------------------------------------------------


def test_three_fills_of_one_order_make_one_trade_at_the_vwap():
    fills = [
        fill(size=1.0, price=100.0, start=0.0, time_ms=T0),
        fill(size=2.0, price=103.0, start=1.0, time_ms=T0 + 5),
        fill(size=1.0, price=104.0, start=3.0, time_ms=T0 + 9),
    ]
    (trade,) = aggregate_fills(fills)
    assert trade.action is Action.OPEN
    assert trade.side is Side.LONG
    assert trade.size == pytest.approx(4.0)
    assert trade.price == pytest.approx((100.0 + 206.0 + 104.0) / 4.0)  # 102.5
    assert trade.time_ms == T0
    assert trade.start_position == 0.0
    assert trade.end_position == pytest.approx(4.0)
    assert trade.fill_keys == tuple(f.dedupe_key for f in fills)


def test_fills_arriving_out_of_order_take_start_position_and_time_of_the_earliest():
    late = fill(size=2.0, price=101.0, start=1.0, time_ms=T0 + 50)
    early = fill(size=1.0, price=100.0, start=0.0, time_ms=T0)
    (trade,) = aggregate_fills([late, early])
    assert trade.time_ms == T0
    assert trade.start_position == 0.0
    assert trade.action is Action.OPEN
    assert trade.fill_keys == (early.dedupe_key, late.dedupe_key)


def test_fills_with_equal_time_keep_fill_order_for_the_start_position():
    a = fill(size=1.0, start=5.0, time_ms=T0)
    b = fill(size=1.0, start=6.0, time_ms=T0)
    (trade,) = aggregate_fills([a, b])
    assert trade.start_position == 5.0
    assert trade.action is Action.ADD
    assert trade.size == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("start", "is_buy", "size", "action", "side"),
    [
        (0.0, True, 1.0, Action.OPEN, Side.LONG),
        (0.0, False, 1.0, Action.OPEN, Side.SHORT),
        (1.0, True, 1.0, Action.ADD, Side.LONG),
        (-1.0, False, 1.0, Action.ADD, Side.SHORT),
        (3.0, False, 1.0, Action.REDUCE, Side.LONG),
        (-3.0, True, 1.0, Action.REDUCE, Side.SHORT),
        (3.0, False, 3.0, Action.CLOSE, Side.LONG),
        (-3.0, True, 3.0, Action.CLOSE, Side.SHORT),
    ],
)
def test_open_add_reduce_close_classification(
    start: float, is_buy: bool, size: float, action: Action, side: Side
):
    (trade,) = aggregate_fills([fill(size=size, is_buy=is_buy, start=start)])
    assert (trade.action, trade.side) == (action, side)


def test_close_in_decimal_pieces_is_a_close_not_a_dust_reduce():
    fills = [
        fill(size=0.1, is_buy=False, start=0.3, time_ms=T0),
        fill(size=0.2, is_buy=False, start=0.2, time_ms=T0 + 1),
    ]
    (trade,) = aggregate_fills(fills)
    assert trade.action is Action.CLOSE
    assert trade.end_position == 0.0
    assert trade.size == pytest.approx(0.3)


def test_flip_from_long_to_short_is_a_close_then_an_open():
    fills = [
        fill(size=3.0, price=100.0, is_buy=False, start=2.0, closed_pnl=10.0, order_id=7),
        fill(size=2.0, price=99.0, is_buy=False, start=-1.0, time_ms=T0 + 3, order_id=7),
    ]
    close, open_ = aggregate_fills(fills)
    assert (close.action, close.side, close.size) == (Action.CLOSE, Side.LONG, 2.0)
    assert (open_.action, open_.side, open_.size) == (Action.OPEN, Side.SHORT, pytest.approx(3.0))
    assert close.order_id == open_.order_id == 7
    assert close.key != open_.key
    assert close.price == open_.price == pytest.approx((300.0 + 198.0) / 5.0)
    assert close.time_ms == open_.time_ms == T0
    assert (close.start_position, close.end_position) == (2.0, 0.0)
    assert (open_.start_position, open_.end_position) == (0.0, pytest.approx(-3.0))
    # dedupe keys and realized PnL belong to the close only
    assert close.fill_keys == tuple(f.dedupe_key for f in fills)
    assert open_.fill_keys == ()
    assert close.closed_pnl == pytest.approx(10.0)
    assert open_.closed_pnl == 0.0


def test_flip_from_short_to_long_is_a_close_then_an_open():
    close, open_ = aggregate_fills([fill(size=5.0, is_buy=True, start=-2.0)])
    assert (close.action, close.side, close.size) == (Action.CLOSE, Side.SHORT, 2.0)
    assert (open_.action, open_.side, open_.size) == (Action.OPEN, Side.LONG, 3.0)
    assert open_.resulting_position_value_usd == pytest.approx(300.0)


def test_closed_pnl_is_summed_over_the_fills():
    fills = [
        fill(size=1.0, is_buy=False, start=3.0, closed_pnl=5.0),
        fill(size=1.0, is_buy=False, start=2.0, closed_pnl=7.5),
    ]
    (trade,) = aggregate_fills(fills)
    assert trade.action is Action.REDUCE
    assert trade.closed_pnl == pytest.approx(12.5)


def test_trades_are_grouped_per_leader_and_order_and_sorted_by_time():
    fills = [
        fill(size=1.0, order_id=2, time_ms=T0 + 100),
        fill(size=1.0, order_id=1, time_ms=T0 + 200, leader="0xB"),
        fill(size=1.0, order_id=1, time_ms=T0),
        fill(size=1.0, order_id=1, time_ms=T0 + 10, start=1.0),
    ]
    trades = aggregate_fills(fills)
    assert [(t.leader, t.order_id, t.time_ms) for t in trades] == [
        ("0xA", 1, T0),
        ("0xA", 2, T0 + 100),
        ("0xB", 1, T0 + 200),
    ]
    assert trades[0].size == pytest.approx(2.0)


def test_same_time_trades_sort_by_order_id():
    trades = aggregate_fills([fill(size=1.0, order_id=9), fill(size=1.0, order_id=3, coin="BTC")])
    assert [t.order_id for t in trades] == [3, 9]


def test_no_fills_no_trades():
    assert aggregate_fills([]) == []


def test_fills_of_one_order_in_two_coins_are_rejected():
    with pytest.raises(ValueError, match="share a coin"):
        aggregate_fills([fill(size=1.0, coin="ETH"), fill(size=1.0, coin="BTC", start=1.0)])
