"""Leader state rebuilt from fills: positions, entry prices, the account-value estimate."""

from __future__ import annotations

import pytest

from tailgate.domain.models import MS_PER_DAY, LeaderFill, Side
from tailgate.venues.replay.leaders import (
    ASSUMED_LEADER_LEVERAGE,
    MIN_ACCOUNT_VALUE_USD,
    LeaderHistory,
    estimate_account_value,
)

T0 = 1_735_689_600_000  # 2025-01-01T00:00Z


def fill(
    coin: str,
    price: float,
    size: float,
    is_buy: bool,
    start: float,
    t: int,
    *,
    pnl: float = 0.0,
    fee: float = 0.0,
    n: int = 0,
) -> LeaderFill:
    return LeaderFill(
        leader="0xa",
        coin=coin,
        price=price,
        size=size,
        is_buy=is_buy,
        direction="",
        start_position=start,
        time_ms=t,
        order_id=n,
        fill_id=f"f{n}",
        closed_pnl=pnl,
        fee=fee,
    )


def no_mark(_coin: str) -> float | None:
    return None


def test_account_value_is_peak_notional_over_leverage_plus_realised():
    assert estimate_account_value(30_000.0, 500.0) == pytest.approx(
        30_000.0 / ASSUMED_LEADER_LEVERAGE + 500.0
    )


def test_account_value_is_floored_and_monotone():
    assert estimate_account_value(0.0, -1_000.0) == MIN_ACCOUNT_VALUE_USD
    assert estimate_account_value(60_000.0, 0.0) > estimate_account_value(30_000.0, 0.0)
    assert estimate_account_value(30_000.0, 10.0) > estimate_account_value(30_000.0, 0.0)


def test_open_then_add_averages_the_entry():
    h = LeaderHistory(
        "0xa",
        [fill("BTC", 100.0, 1.0, True, 0.0, T0, n=1), fill("BTC", 110.0, 1.0, True, 1.0, T0, n=2)],
    )
    (pos,) = h.positions(2, no_mark)
    assert (pos.side, pos.size, pos.entry_price) == (Side.LONG, 2.0, pytest.approx(105.0))
    assert pos.leverage == ASSUMED_LEADER_LEVERAGE


def test_reduce_keeps_the_entry_and_close_removes_the_position():
    fills = [
        fill("ETH", 100.0, 2.0, False, 0.0, T0, n=1),
        fill("ETH", 90.0, 0.5, True, -2.0, T0 + 1, pnl=5.0, n=2),
        fill("ETH", 80.0, 1.5, True, -1.5, T0 + 2, pnl=30.0, n=3),
    ]
    h = LeaderHistory("0xa", fills)
    (pos,) = h.positions(2, no_mark)
    assert (pos.side, pos.size, pos.entry_price) == (Side.SHORT, 1.5, 100.0)
    assert h.positions(3, no_mark) == ()
    assert h.positions(0, no_mark) == ()


def test_flip_opens_the_rest_at_the_fill_price():
    fills = [
        fill("SOL", 100.0, 1.0, True, 0.0, T0, n=1),
        fill("SOL", 120.0, 3.0, False, 1.0, T0 + 1, pnl=20.0, n=2),
    ]
    (pos,) = LeaderHistory("0xa", fills).positions(2, no_mark)
    assert (pos.side, pos.size, pos.entry_price) == (Side.SHORT, 2.0, 120.0)


def test_size_follows_the_fills_start_position_even_when_fills_are_missing():
    # The export starts mid-position: start 4 + buy 1 → 5 held, entry unknown → fill price.
    (pos,) = LeaderHistory("0xa", [fill("BTC", 50.0, 1.0, True, 4.0, T0)]).positions(1, no_mark)
    assert (pos.size, pos.entry_price) == (5.0, 50.0)


def test_position_value_uses_the_mark():
    h = LeaderHistory("0xa", [fill("BTC", 100.0, 2.0, True, 0.0, T0)])
    (pos,) = h.positions(1, lambda coin: 150.0)
    assert pos.position_value == pytest.approx(300.0)


def test_account_value_after_fills_uses_peak_gross_notional_and_net_pnl():
    fills = [
        fill("BTC", 100.0, 30.0, True, 0.0, T0, fee=1.0, n=1),  # 3,000 notional
        fill("ETH", 10.0, 150.0, False, 0.0, T0 + 1, fee=1.0, n=2),  # + 1,500 → 4,500 peak
        fill("BTC", 110.0, 30.0, False, 30.0, T0 + 2, pnl=300.0, fee=2.0, n=3),
    ]
    h = LeaderHistory("0xa", fills)
    assert h.account_value(0) == 0.0
    assert h.account_value(1) == pytest.approx(3_000 / ASSUMED_LEADER_LEVERAGE - 1.0)
    assert h.account_value(3) == pytest.approx(4_500 / ASSUMED_LEADER_LEVERAGE + 300 - 4.0)


def test_leaderboard_entry_counts_pnl_net_of_fees_in_the_window():
    fills = [
        fill("BTC", 100.0, 30.0, True, 0.0, T0, n=1),
        fill("BTC", 110.0, 30.0, False, 30.0, T0 + 10 * MS_PER_DAY, pnl=300.0, fee=3.0, n=2),
    ]
    h = LeaderHistory("0xa", fills)
    entry = h.leaderboard_entry(7, count_now=2, count_start=1)
    assert entry.pnl == pytest.approx(297.0)
    assert entry.roi == pytest.approx(297.0 / (3_000 / ASSUMED_LEADER_LEVERAGE))
    assert entry.account_value == pytest.approx(1_000 + 297.0)
    assert entry.volume == pytest.approx(3_300.0)


def test_an_account_first_seen_inside_the_window_is_measured_against_its_implied_capital():
    fills = [
        fill("BTC", 100.0, 3.0, True, 0.0, T0, n=1),  # a small first trade: 300 notional
        fill("BTC", 100.0, 27.0, True, 3.0, T0 + 1, n=2),  # then 3,000 held
        fill("BTC", 110.0, 30.0, False, 30.0, T0 + 2, pnl=300.0, n=3),
    ]
    entry = LeaderHistory("0xa", fills).leaderboard_entry(7, count_now=3, count_start=0)
    assert entry.roi == pytest.approx(300.0 / (3_000 / ASSUMED_LEADER_LEVERAGE))


def test_portfolio_is_daily_from_the_first_known_fill():
    h = LeaderHistory("0xa", [fill("BTC", 100.0, 30.0, True, 0.0, T0)])
    now = T0 + 5 * MS_PER_DAY + 1
    points = h.portfolio(now, delay_ms=0)
    assert [t for t, _ in points] == [now - k * MS_PER_DAY for k in range(5, -1, -1)]
    assert all(v == pytest.approx(1_000.0) for _, v in points)
    assert h.portfolio(T0 - 1, delay_ms=0) == []
