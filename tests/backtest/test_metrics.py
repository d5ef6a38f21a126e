"""SPEC §B2 metrics on hand-computed numbers, and the edge cases that must not produce NaN."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tailgate.backtest.metrics import (
    NO_LEADER,
    LeaderAttribution,
    TradeRecord,
    compute_metrics,
    daily_returns,
    drawdown_series,
    leader_exit_pnl,
    sharpe_ratio,
)
from tailgate.domain.models import MS_PER_DAY, MS_PER_HOUR, Side

DAY0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
NOON = 12 * MS_PER_HOUR


def trade(
    pnl: float,
    *,
    coin: str = "BTC",
    side: Side = Side.LONG,
    leader: str | None = "0xleader",
    hours: float = 1.0,
    entry: float = 100.0,
    exit_: float = 100.0,
    size: float = 1.0,
    fees: float = 0.0,
    reason: str = "LEADER_CLOSED",
    leader_exit: float | None = None,
) -> TradeRecord:
    return TradeRecord(
        coin=coin,
        side=side,
        leader=leader,
        opened_ms=DAY0,
        closed_ms=DAY0 + int(hours * MS_PER_HOUR),
        entry_price=entry,
        exit_price=exit_,
        size=size,
        pnl=pnl,
        fees=fees,
        close_reason=reason,
        leader_exit_price=leader_exit,
        leader_exit_ms=None if leader_exit is None else DAY0 + 2 * MS_PER_HOUR,
    )


def daily(*values: float) -> list[tuple[int, float]]:
    """One equity point per day, at noon UTC, from 2024-01-01."""
    return [(DAY0 + d * MS_PER_DAY + NOON, v) for d, v in enumerate(values)]


# ---------------------------------------------------------------- return and drawdown


def test_max_drawdown_is_25_percent_for_100_120_90_130() -> None:
    m = compute_metrics([], daily(100, 120, 90, 130), starting_balance=100)
    assert m.max_drawdown == pytest.approx(0.25)  # (120 - 90) / 120
    assert m.total_return == pytest.approx(0.30)
    assert m.final_equity == 130


def test_drawdown_counts_from_the_starting_balance_when_the_curve_only_falls() -> None:
    m = compute_metrics([], daily(90, 80), starting_balance=100)
    assert m.max_drawdown == pytest.approx(0.20)
    assert m.total_return == pytest.approx(-0.20)


def test_drawdown_series_is_underwater_fraction_of_running_peak() -> None:
    series = drawdown_series(daily(100, 120, 90, 130), 100)
    assert [round(d, 6) for _, d in series] == [0.0, 0.0, -0.25, 0.0]


def test_without_equity_points_final_equity_is_balance_plus_trade_pnl() -> None:
    m = compute_metrics([trade(50), trade(-20)], [], starting_balance=1_000)
    assert m.final_equity == 1_030
    assert m.total_return == pytest.approx(0.03)
    assert m.max_drawdown == 0.0
    assert m.sharpe == 0.0


# ---------------------------------------------------------------- trades


def test_win_rate_two_thirds_and_profit_factor_3_for_plus50_minus25_plus25() -> None:
    m = compute_metrics([trade(50), trade(-25), trade(25)], [], starting_balance=1_000)
    assert m.trade_count == 3
    assert m.win_rate == pytest.approx(2 / 3)
    assert m.profit_factor == pytest.approx(3.0)  # 75 won / 25 lost
    assert m.pnl == pytest.approx(50)


def test_profit_factor_is_infinite_with_only_winners() -> None:
    m = compute_metrics([trade(10), trade(5)], [], starting_balance=1_000)
    assert m.profit_factor == math.inf
    assert m.win_rate == 1.0


def test_break_even_trade_is_neither_a_win_nor_a_loss() -> None:
    m = compute_metrics([trade(0.0), trade(10), trade(-5)], [], starting_balance=1_000)
    assert m.win_rate == pytest.approx(1 / 3)
    assert m.profit_factor == pytest.approx(2.0)
    only_flat = compute_metrics([trade(0.0)], [], starting_balance=1_000)
    assert only_flat.profit_factor == 0.0
    assert only_flat.win_rate == 0.0


def test_average_duration_is_in_hours_and_fees_add_up() -> None:
    m = compute_metrics(
        [trade(1, hours=2, fees=0.5), trade(1, hours=10, fees=0.25)], [], starting_balance=100
    )
    assert m.avg_trade_duration_hours == pytest.approx(6.0)
    assert m.fees == pytest.approx(0.75)


def test_no_trades_gives_zeros_not_nan() -> None:
    m = compute_metrics([], [], starting_balance=10_000)
    assert m.trade_count == 0
    assert (m.win_rate, m.profit_factor, m.avg_trade_duration_hours) == (0.0, 0.0, 0.0)
    assert (m.pnl, m.fees, m.total_return, m.max_drawdown, m.sharpe) == (0, 0, 0, 0, 0)
    assert (m.leader_exit_pnl, m.our_exit_pnl_same_trades, m.exit_edge) == (0, 0, 0)
    assert m.trades_with_leader_exit == 0
    assert m.by_leader == {} and m.by_close_reason == {}


# ---------------------------------------------------------------- Sharpe


def test_sharpe_of_a_known_daily_series_is_3_685() -> None:
    # daily returns +2 %, -1 %, +3 %, 0 %, -2 %: mean 0.004; deviations .016 -.014 .026 -.004
    # -.024, squares sum to 0.00172, / (5 - 1) = 0.00043, std 0.0207364;
    # 0.004 / 0.0207364 × √365 (19.10497) = 3.68529
    curve = daily(102, 102 * 0.99, 102 * 0.99 * 1.03, 102 * 0.99 * 1.03, 102 * 0.99 * 1.03 * 0.98)
    assert daily_returns(curve, 100) == pytest.approx([0.02, -0.01, 0.03, 0.0, -0.02])
    m = compute_metrics([], curve, starting_balance=100)
    assert m.sharpe == pytest.approx(3.68529, abs=1e-4)


def test_sharpe_uses_day_ends_of_hourly_snapshots() -> None:
    # Intraday swings do not matter: only each UTC day's last snapshot does.
    hourly: list[tuple[int, float]] = []
    for day, close in enumerate((110.0, 99.0, 108.9)):
        for hour in range(24):
            value = close if hour == 23 else close * (1.5 if hour % 2 else 0.5)
            hourly.append((DAY0 + day * MS_PER_DAY + hour * MS_PER_HOUR, value))
    assert daily_returns(hourly, 100) == pytest.approx([0.1, -0.1, 0.1])
    # mean 1/30, sample std 0.11547: 0.288675 × 19.10497 = 5.51513
    assert compute_metrics([], hourly, 100).sharpe == pytest.approx(5.51513, abs=1e-4)


def test_a_day_without_snapshots_carries_equity_forward() -> None:
    curve = [(DAY0 + NOON, 110.0), (DAY0 + 2 * MS_PER_DAY + NOON, 121.0)]
    assert daily_returns(curve, 100) == pytest.approx([0.1, 0.0, 0.1])


def test_sharpe_is_zero_with_one_day() -> None:
    curve = [(DAY0 + h * MS_PER_HOUR, 100.0 + h) for h in range(24)]
    assert compute_metrics([], curve, 100).sharpe == 0.0


def test_sharpe_is_zero_when_daily_returns_are_constant() -> None:
    # 10 % a day every day: zero variance (up to float noise), which must not become 1e15
    assert compute_metrics([], daily(110, 121, 133.1, 146.41), 100).sharpe == 0.0
    assert sharpe_ratio([0.0, 0.0, 0.0]) == 0.0


def test_a_blown_account_gives_finite_returns() -> None:
    returns = daily_returns(daily(50, 0.0, 0.0), 100)
    assert returns == [-0.5, -1.0, 0.0]
    m = compute_metrics([], daily(50, 0.0, 0.0), 100)
    assert m.max_drawdown == 1.0 and math.isfinite(m.sharpe)


# ---------------------------------------------------------------- our exits vs the leader's


def test_leader_exit_pnl_uses_same_size_and_fees() -> None:
    long = trade(19, entry=100, exit_=110, size=2, fees=1, leader_exit=105)
    assert leader_exit_pnl(long) == pytest.approx(9)  # (105 - 100) × 2 - 1
    short = trade(4.5, side=Side.SHORT, entry=100, exit_=95, fees=0.5, leader_exit=90)
    assert leader_exit_pnl(short) == pytest.approx(9.5)  # (100 - 90) × 1 - 0.5
    assert leader_exit_pnl(trade(3)) is None


def test_exit_edge_compares_only_trades_whose_leader_exit_is_known() -> None:
    trades = [
        trade(19, entry=100, exit_=110, size=2, fees=1, leader_exit=105),  # we did 10 better
        trade(4.5, side=Side.SHORT, entry=100, exit_=95, fees=0.5, leader_exit=90),  # 5 worse
        trade(-30, reason="STOP_LOSS"),  # leader still holds: not compared
    ]
    m = compute_metrics(trades, [], starting_balance=1_000)
    assert m.trades_with_leader_exit == 2
    assert m.leader_exit_pnl == pytest.approx(18.5)
    assert m.our_exit_pnl_same_trades == pytest.approx(23.5)
    assert m.exit_edge == pytest.approx(5.0)
    assert m.pnl == pytest.approx(-6.5)


# ---------------------------------------------------------------- attribution


def test_per_leader_attribution_best_first_and_unattributed_trades_grouped() -> None:
    trades = [
        trade(10, leader="alice"),
        trade(-4, leader="alice"),
        trade(-20, leader="bob"),
        trade(30, leader="carol"),
        trade(1, leader=None),
    ]
    m = compute_metrics(trades, [], starting_balance=1_000)
    assert list(m.by_leader) == ["carol", "alice", NO_LEADER, "bob"]
    assert m.by_leader["alice"] == LeaderAttribution(trades=2, pnl=6, win_rate=0.5)
    assert m.by_leader["bob"] == LeaderAttribution(trades=1, pnl=-20, win_rate=0.0)


def test_close_reasons_are_counted_most_frequent_first() -> None:
    trades = [
        trade(1, reason="TRAILING_STOP"),
        trade(1, reason="STOP_LOSS"),
        trade(1, reason="STOP_LOSS"),
        trade(1, reason="LEADER_CLOSED"),
    ]
    m = compute_metrics(trades, [], starting_balance=1_000)
    assert m.by_close_reason == {"STOP_LOSS": 2, "LEADER_CLOSED": 1, "TRAILING_STOP": 1}
    assert list(m.by_close_reason) == ["STOP_LOSS", "LEADER_CLOSED", "TRAILING_STOP"]


# ---------------------------------------------------------------- boundaries


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_trade_numbers_are_rejected(bad: float) -> None:
    with pytest.raises(ValueError, match="non-finite"):
        compute_metrics([trade(bad)], [], starting_balance=100)
    with pytest.raises(ValueError, match="non-finite"):
        compute_metrics([], [(DAY0, bad)], starting_balance=100)


def test_unordered_equity_and_bad_balance_are_rejected() -> None:
    with pytest.raises(ValueError, match="ascending"):
        compute_metrics([], [(DAY0 + 1, 100.0), (DAY0, 100.0)], starting_balance=100)
    with pytest.raises(ValueError, match="starting_balance"):
        compute_metrics([], [], starting_balance=0)
    with pytest.raises(ValueError, match="closes before it opens"):
        compute_metrics([trade(1, hours=-1)], [], starting_balance=100)


@settings(max_examples=200, deadline=None)
@given(
    pnls=st.lists(st.floats(-1e4, 1e4, allow_nan=False), max_size=30),
    values=st.lists(st.floats(0.0, 1e7, allow_nan=False), max_size=60),
    gaps=st.lists(st.integers(0, 3 * MS_PER_DAY), min_size=60, max_size=60),
    balance=st.floats(1.0, 1e7),
)
def test_metrics_are_never_nan(
    pnls: list[float], values: list[float], gaps: list[int], balance: float
) -> None:
    t = DAY0
    curve = []
    for v, gap in zip(values, gaps, strict=False):
        t += gap
        curve.append((t, v))
    m = compute_metrics([trade(p, leader_exit=101.0) for p in pnls], curve, balance)
    for name in (
        "total_return",
        "max_drawdown",
        "sharpe",
        "win_rate",
        "avg_trade_duration_hours",
        "pnl",
        "fees",
        "leader_exit_pnl",
        "our_exit_pnl_same_trades",
        "exit_edge",
    ):
        assert math.isfinite(getattr(m, name)), name
    assert not math.isnan(m.profit_factor)
