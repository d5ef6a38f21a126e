"""Liquidations in a leader's history: reported by the venue, or positions that vanished."""

from tailgate.domain.aggregation import aggregate_fills
from tailgate.domain.liquidations import find_liquidations
from tailgate.domain.models import Action, LeaderFill, LeaderTrade, Side

H = 3_600_000


def trade(t, action, start, end, *, coin="BTC", liquidation=False, oid=None) -> LeaderTrade:
    side = Side.of(end if action in (Action.OPEN, Action.ADD) else start)
    return LeaderTrade(
        leader="0xL",
        coin=coin,
        side=side,
        action=action,
        size=abs(end - start),
        price=100.0,
        time_ms=t,
        order_id=oid or t,
        start_position=start,
        end_position=end,
        liquidation=liquidation,
    )


def test_a_closed_round_trip_is_not_a_liquidation():
    trades = [trade(1 * H, Action.OPEN, 0, 2), trade(5 * H, Action.CLOSE, 2, 0)]
    assert find_liquidations(trades, set()) == []


def test_a_position_that_is_flat_at_the_next_trade_vanished_before_it():
    trades = [trade(1 * H, Action.OPEN, 0, 2), trade(9 * H, Action.OPEN, 0, -1)]
    (liq,) = find_liquidations(trades, {"BTC"})
    assert (liq.side, liq.size, liq.time_ms, liq.reported, liq.open_ended) == (
        Side.LONG,
        2,
        9 * H,
        False,
        False,
    )


def test_a_position_missing_from_the_live_state_vanished_since_the_last_trade():
    trades = [trade(1 * H, Action.OPEN, 0, 2), trade(2 * H, Action.ADD, 2, 3)]
    assert find_liquidations(trades, {"BTC"}) == []  # still held: nothing happened
    (liq,) = find_liquidations(trades, {"ETH"})
    assert (liq.size, liq.time_ms, liq.open_ended) == (3, 2 * H, True)


def test_a_liquidation_reported_by_the_venue_is_found_from_its_fills():
    fills = [
        LeaderFill(
            leader="0xL",
            coin="ETH",
            price=1800.0,
            size=5.0,
            is_buy=False,
            direction="Close Long",
            start_position=5.0,
            time_ms=3 * H,
            order_id=9,
            fill_id="t9",
            closed_pnl=-2_000.0,
            liquidation=True,
        )
    ]
    (liquidated,) = aggregate_fills(fills)
    assert liquidated.liquidation and liquidated.action is Action.CLOSE
    (liq,) = find_liquidations([trade(1 * H, Action.OPEN, 0, 5, coin="ETH"), liquidated], set())
    assert (liq.coin, liq.reported, liq.entry_price, liq.time_ms) == ("ETH", True, 1800.0, 3 * H)


def test_a_position_opened_before_the_history_window_is_not_a_liquidation():
    trades = [trade(1 * H, Action.CLOSE, 4, 0)]  # we never saw it open
    assert find_liquidations(trades, set()) == []
